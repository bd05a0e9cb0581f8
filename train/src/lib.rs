#![warn(missing_docs)]
//! train: LoRA fine-tuning of BERT classifiers with burn, exported as safetensors in HF layout
//! (see `router_core::export` for the format contract).

pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod encode;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod lora;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod schedule;
pub mod selection;
pub mod synthetic;
pub mod trainer;
pub mod weights;

pub use error::{Result, TrainError};
