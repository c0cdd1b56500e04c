// Prints the prompt llama.cpp renders for a conversation with a model's own chat template,
// exactly as its `--jinja` tools do (common_chat_templates_apply). keybot's template test
// compares its own rendering against this. Built by scripts/build-llama-tools.sh against the
// same vendored llama.cpp that keybot links.
//
//   llama-render-template MODEL.gguf ROLE CONTENT [ROLE CONTENT]...
//
// With tools, as llama-server applies them (the bot's parity test):
//
//   llama-render-template MODEL.gguf --tools TOOLS.json MESSAGES.json
//       prints one JSON object: the prompt, the chat format's name, the grammar, whether it is
//       lazy, its trigger words and the preserved tokens;
//   llama-render-template MODEL.gguf --tools TOOLS.json MESSAGES.json --parse < ANSWER
//       parses a model's answer as llama-server does (common_chat_parse) and prints the message
//       as OpenAI JSON (content and tool_calls).
//
// TOOLS.json and MESSAGES.json are in the OpenAI shape.
#include "chat.h"
#include "llama.h"

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

static void quiet(ggml_log_level, const char *, void *) {}

static std::string read_file(const char * path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw std::runtime_error(std::string("cannot read ") + path);
    }
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int main(int argc, char ** argv) {
    const bool with_tools = argc >= 5 && std::string(argv[2]) == "--tools";
    if (!with_tools && (argc < 4 || (argc - 2) % 2 != 0)) {
        fprintf(stderr,
                "usage: %s MODEL.gguf ROLE CONTENT [ROLE CONTENT]...\n"
                "       %s MODEL.gguf --tools TOOLS.json MESSAGES.json [--parse < ANSWER]\n",
                argv[0], argv[0]);
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
        if (with_tools) {
            inputs.tools = common_chat_tools_parse_oaicompat(common_json::parse(read_file(argv[3])));
            inputs.messages = common_chat_msgs_parse_oaicompat(common_json::parse(read_file(argv[4])));
        } else {
            for (int i = 2; i + 1 < argc; i += 2) {
                common_chat_msg msg;
                msg.role = argv[i];
                msg.content = argv[i + 1];
                inputs.messages.push_back(msg);
            }
        }
        const common_chat_params params = common_chat_templates_apply(tmpls.get(), inputs);
        if (!with_tools) {
            fwrite(params.prompt.data(), 1, params.prompt.size(), stdout);
        } else if (argc >= 6 && std::string(argv[5]) == "--parse") {
            std::stringstream answer;
            answer << std::cin.rdbuf();
            common_chat_parser_params syntax(params);
            if (!params.parser.empty()) {
                syntax.parser.load(params.parser);
            }
            const common_chat_msg msg = common_chat_parse(answer.str(), false, syntax);
            std::cout << msg.to_json_oaicompat().dump() << std::endl;
        } else {
            common_json triggers = common_json::array();
            for (const auto & t : params.grammar_triggers) {
                triggers.push_back({{"type", (int) t.type}, {"value", t.value}, {"token", t.token}});
            }
            common_json out = {
                {"prompt", params.prompt},
                {"format", common_chat_format_name(params.format)},
                {"grammar", params.grammar},
                {"grammar_lazy", params.grammar_lazy},
                {"triggers", triggers},
                {"preserved_tokens", params.preserved_tokens},
                {"generation_prompt", params.generation_prompt},
            };
            std::cout << out.dump() << std::endl;
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "template error: %s\n", e.what());
        rc = 1;
    }
    llama_model_free(model);
    llama_backend_free();
    return rc;
}
