//! PhraseGen: an LSTM phrase generator for DAWs (CLAP/VST3) and the command line.
//!
//! The pure core (`phrase`, `roll`, MIDI I/O, model, sampler, scheduler) knows nothing of
//! the plugin; `plugin` is thin glue on top, and `cli` drives the same core from a shell.

pub mod builtin;
pub mod cli;
pub mod corpus;
pub mod events;
pub mod excerpt;
pub mod family;
pub mod fine_tune;
pub mod form;
pub mod fsutil;
pub mod infer;
pub mod key;
pub mod meter;
pub mod midi;
pub mod model;
pub mod phrase;
pub mod phrase_edit;
pub mod plugin;
pub mod roll;
pub mod roll_image;
pub mod sample;
pub mod scale;
pub mod scheduler;
pub mod shape;
pub mod stats;
pub mod train;
