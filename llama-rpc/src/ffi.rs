//! The calls into ggml (llama-cpp-sys-2's bindings of ggml-backend.h), as llama.cpp's own `--rpc`
//! makes them (common/arg.cpp, `add_rpc_devices`).
use std::ffi::{CStr, CString, c_char};
use std::sync::OnceLock;

use llama_cpp_sys_2 as sys;

use crate::{AddError, Device, Kind, RPC};

/// `ggml_backend_rpc_add_server` (ggml-rpc.h): the address of an rpc-server in, a registry of
/// its devices out (null when it has none).
type AddServer = unsafe extern "C" fn(*const c_char) -> sys::ggml_backend_reg_t;

/// Adds the rpc-server at `endpoint` (`host:port`) to ggml's devices, for the rest of the
/// process (ggml keeps it). ggml-rpc connects to it here and aborts the process if it cannot:
/// reach it first.
pub fn add_server(endpoint: &str) -> Result<(), AddError> {
    let endpoint = CString::new(endpoint).map_err(|_| AddError::BadEndpoint)?;
    let rpc = CString::new(RPC).map_err(|_| AddError::BadEndpoint)?;
    // SAFETY: `rpc` is a NUL-terminated string that outlives the call; the registry returns a
    // backend registry it owns for the process's life, or null (checked).
    let reg = unsafe { sys::ggml_backend_reg_by_name(rpc.as_ptr()) };
    if reg.is_null() {
        return Err(AddError::NoBackend);
    }
    // SAFETY: `reg` is the live RPC registry and the name a NUL-terminated literal; the result
    // is a function address or null (checked).
    let f = unsafe {
        sys::ggml_backend_reg_get_proc_address(reg, c"ggml_backend_rpc_add_server".as_ptr())
    };
    if f.is_null() {
        return Err(AddError::NoFunction);
    }
    // SAFETY: the RPC registry answers this name with `ggml_backend_rpc_add_server`, whose C
    // signature is `AddServer` (ggml-rpc.h of the same llama.cpp); a non-null function pointer
    // of that signature.
    let add: AddServer = unsafe { std::mem::transmute::<*mut std::ffi::c_void, AddServer>(f) };
    // SAFETY: `endpoint` is NUL-terminated and outlives the call (ggml copies it).
    let server = unsafe { add(endpoint.as_ptr()) };
    if server.is_null() {
        return Err(AddError::NoDevice);
    }
    // SAFETY: `server` is a registry ggml-rpc made and keeps for the process's life.
    unsafe { sys::ggml_backend_register(server) };
    Ok(())
}

/// Every device in ggml's registry, by name, type and description: reads that stay in this
/// process (an RPC device's type is a constant, its description the address).
pub fn devices() -> Vec<Device> {
    // SAFETY: a plain count from the registry.
    let count = unsafe { sys::ggml_backend_dev_count() };
    (0..count).map(device).collect()
}

fn device(index: usize) -> Device {
    // SAFETY: `index` is below ggml_backend_dev_count, so a valid device; its registry, names
    // and type are the device's own, kept for the process's life.
    let (backend, kind, name, description) = unsafe {
        let dev = sys::ggml_backend_dev_get(index);
        let reg = sys::ggml_backend_dev_backend_reg(dev);
        (
            text(sys::ggml_backend_reg_name(reg)),
            sys::ggml_backend_dev_type(dev),
            text(sys::ggml_backend_dev_name(dev)),
            text(sys::ggml_backend_dev_description(dev)),
        )
    };
    let kind = match kind {
        sys::GGML_BACKEND_DEVICE_TYPE_CPU => Kind::Cpu,
        sys::GGML_BACKEND_DEVICE_TYPE_GPU => Kind::Gpu,
        sys::GGML_BACKEND_DEVICE_TYPE_IGPU => Kind::IntegratedGpu,
        sys::GGML_BACKEND_DEVICE_TYPE_ACCEL => Kind::Accelerator,
        _ => Kind::Other,
    };
    Device {
        index,
        rpc: backend == RPC,
        kind,
        name,
        description,
    }
}

/// The terminal's settings before the app changed them, and what puts its screen back: read by
/// the SIGABRT handler (a lock-free read, as a signal handler needs).
static SAVED: OnceLock<(Option<libc::termios>, &'static [u8])> = OnceLock::new();

/// Puts the terminal back — `sequences` written to standard output, standard input's settings as
/// they are now — when the process aborts (SIGABRT: ggml's `GGML_ABORT`, or a signal from
/// outside), then lets it die as it would have. Call once, before the terminal is changed; a
/// second call changes nothing.
pub fn restore_terminal_on_abort(sequences: &'static [u8]) -> std::io::Result<()> {
    // SAFETY: `termios` is plain data, zeroed then filled by tcgetattr (its result checked).
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        (libc::tcgetattr(libc::STDIN_FILENO, &raw mut t) == 0).then_some(t)
    };
    if SAVED.set((saved, sequences)).is_err() {
        return Ok(());
    }
    // SAFETY: a zeroed sigaction filled in before use; the handler is an `extern "C"` function
    // of the one-argument form (no SA_SIGINFO). SA_RESETHAND puts the default action back once
    // it runs, so abort's SIGABRT still ends the process after it.
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_abort as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&raw mut action.sa_mask);
        libc::sigaction(libc::SIGABRT, &raw const action, std::ptr::null_mut())
    };
    if installed == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The SIGABRT handler: only async-signal-safe calls (write, tcsetattr, raise) on data set
/// before it was installed.
extern "C" fn on_abort(_: libc::c_int) {
    if let Some((termios, sequences)) = SAVED.get() {
        // SAFETY: write and tcsetattr are async-signal-safe; the buffer and the settings are
        // 'static and were complete before the handler was installed.
        unsafe {
            libc::write(
                libc::STDOUT_FILENO,
                sequences.as_ptr().cast(),
                sequences.len(),
            );
            if let Some(t) = termios {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
            }
        }
    }
    // SAFETY: raise is async-signal-safe. SIGABRT is blocked while this runs and its default
    // action is back (SA_RESETHAND): it is delivered as this returns and ends the process, for a
    // SIGABRT sent from outside as for abort's own.
    unsafe {
        libc::raise(libc::SIGABRT);
    }
}

/// A string ggml returned, or "" for null.
///
/// # Safety
/// `p` is null or a NUL-terminated string that lives at least as long as this call.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated, per this function's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_has_the_rpc_backend_and_lists_the_cpu_by_name() {
        // The backend is compiled in (GGML_RPC=ON) and registered; without a server added it
        // holds no device.
        let rpc = CString::new(RPC).unwrap();
        // SAFETY: as in add_server.
        let reg = unsafe { sys::ggml_backend_reg_by_name(rpc.as_ptr()) };
        assert!(
            !reg.is_null(),
            "no RPC backend: build with GGML_RPC=ON (.cargo/config.toml)"
        );
        let all = devices();
        assert!(all.iter().any(|d| d.kind == Kind::Cpu && !d.rpc), "{all:?}");
        assert!(all.iter().all(|d| !d.rpc), "{all:?}");
        assert_eq!(add_server("a\0b"), Err(AddError::BadEndpoint));
    }
}
