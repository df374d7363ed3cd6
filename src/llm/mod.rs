//! The async-openai adapter of the language-model port (`ports::language_model`): any
//! OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) behind our own timed client.

mod openai;

pub use openai::OpenAiModel;
