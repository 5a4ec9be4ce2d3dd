//! Plugin glue: the nice-plug `Plugin` implementation on top of the pure core.

use std::sync::Arc;

use nice_plug::prelude::*;

/// The PhraseGen plugin: a MIDI note generator placed in front of an instrument.
#[derive(Default)]
pub struct PhraseGen {
    params: Arc<PhraseGenParams>,
}

/// Parameters; filled in by the plugin engine.
#[derive(Params, Default)]
pub struct PhraseGenParams {}

impl Plugin for PhraseGen {
    const NAME: &'static str = "PhraseGen";
    const VENDOR: &'static str = "PhraseGen";
    const URL: &'static str = "https://example.invalid/phrasegen";
    const EMAIL: &'static str = "phrasegen@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    // A MIDI generator: stereo pass-through so every host accepts it in an instrument's
    // chain, or no audio at all where the host allows it.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout::const_default(),
    ];
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = ();
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn process(
        &mut self,
        _buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        ProcessStatus::Normal
    }
}

impl ClapPlugin for PhraseGen {
    const CLAP_ID: &'static str = "org.phrasegen.phrasegen";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Generates musical phrases with an LSTM, in time with the host");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
}

impl Vst3Plugin for PhraseGen {
    const VST3_CLASS_ID: [u8; 16] = *b"PhraseGenLSTMGen";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Generator];
}

nice_export_clap!(PhraseGen);
nice_export_vst3!(PhraseGen);
