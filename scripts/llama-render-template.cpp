// Prints the prompt llama.cpp renders for a conversation with a model's own chat template,
// exactly as its `--jinja` tools do (common_chat_templates_apply). keybot's template test
// compares its own rendering against this. Built by scripts/build-llama-tools.sh against the
// same vendored llama.cpp that keybot links.
//
//   llama-render-template MODEL.gguf ROLE CONTENT [ROLE CONTENT]...
#include "chat.h"
#include "llama.h"

#include <cstdio>
#include <exception>
#include <string>

static void quiet(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc < 4 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: %s MODEL.gguf ROLE CONTENT [ROLE CONTENT]...\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (model == nullptr) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    int rc = 0;
    try {
        auto tmpls = common_chat_templates_init(model, "");
        const llama_vocab * vocab = llama_model_get_vocab(model);
        common_chat_templates_inputs inputs;
        inputs.use_jinja = true;
        inputs.add_generation_prompt = true;
        inputs.add_bos = llama_vocab_get_add_bos(vocab);
        inputs.add_eos = llama_vocab_get_add_eos(vocab);
        for (int i = 2; i + 1 < argc; i += 2) {
            common_chat_msg msg;
            msg.role = argv[i];
            msg.content = argv[i + 1];
            inputs.messages.push_back(msg);
        }
        const common_chat_params params = common_chat_templates_apply(tmpls.get(), inputs);
        fwrite(params.prompt.data(), 1, params.prompt.size(), stdout);
    } catch (const std::exception & e) {
        fprintf(stderr, "template error: %s\n", e.what());
        rc = 1;
    }
    llama_model_free(model);
    llama_backend_free();
    return rc;
}
