//! The async-openai adapter of the language-model port (`ports::language_model`): any
//! OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) behind our own timed client,
//! and the circuit breaker every model use goes through (`breaker`).

mod breaker;
mod openai;

pub use breaker::{Clock, GuardedModel, guarded};
pub use openai::OpenAiModel;
