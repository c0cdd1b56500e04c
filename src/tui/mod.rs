pub mod clipboard;
pub mod markdown;
pub mod qr;
pub mod sanitize;
pub mod theme;
