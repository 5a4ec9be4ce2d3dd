//! Opens the real editor window outside a DAW (for `scripts/screenshot.sh` under Xvfb): the
//! plugin runs in the DAW-imitating test host so the phrase and playhead are live.
//! `PHRASEGEN_MODEL=path` opens it with that model file playing (the drop test's small model);
//! `PHRASEGEN_EDITOR_SIZE=WIDTHxHEIGHT` opens it at that size, as a project saved so would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nice_plug::context::gui::{AsyncExecutor, GuiContext, GuiContextInner};
use nice_plug::prelude::*;
use phrasegen::plugin::PhraseGen;
use test_host::Host;

/// The DAW-imitating host the plugin tests use.
#[allow(dead_code)]
#[path = "../tests/common/test_host.rs"]
mod test_host;

/// A GUI context that applies parameter changes directly, as a host would.
struct DirectGui;

impl GuiContextInner for DirectGui {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {}
    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        // SAFETY: the parameters outlive the window.
        unsafe {
            param._internal_set_normalized_value(normalized);
        }
    }
    unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {}
    fn get_state(&self) -> PluginState {
        PluginState {
            version: String::new(),
            params: BTreeMap::new(),
            fields: BTreeMap::new(),
        }
    }
    fn set_state(&self, _state: PluginState) {}
    fn request_restart(&self) {}
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(6.0);
    let plugin = PhraseGen::default();
    if let Some(model) = std::env::var_os("PHRASEGEN_MODEL") {
        *plugin.shared().params.model_path.write() = Some(model.to_string_lossy().into_owned());
    }
    if let Some(size) = std::env::var("PHRASEGEN_EDITOR_SIZE").ok().and_then(|s| {
        let (w, h) = s.split_once('x')?;
        Some((w.parse().ok()?, h.parse().ok()?))
    }) {
        *plugin.shared().params.editor_size.write() = size;
    }
    let mut host = Host::new(plugin, 48_000.0, 512, 120.0);
    host.run_until_playing(1, 5000);
    host.blocks(500);
    let executor = AsyncExecutor::new(Arc::new(|_| {}), Arc::new(|_| {}));
    let editor = host
        .plugin
        .editor(executor)
        .expect("the plugin has an editor");
    unsafe { editor.assume_standalone_in_process() };
    let spawned = editor
        .spawn(
            None,
            false,
            None,
            GuiContext::new(Arc::new(DirectGui)),
            None,
        )
        .expect("the editor window opens");
    // The plugin keeps playing on another thread so the playhead moves.
    std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < seconds {
            host.block();
            std::thread::sleep(Duration::from_millis(10));
        }
        std::process::exit(0);
    });
    println!("editor open");
    let _handle = spawned.handle;
    spawned.window.run_until_closed().expect("the window runs");
}
