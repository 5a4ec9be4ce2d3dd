//! The editor handed to the host. Hosts ask for the editor when the plugin is created, before
//! they restore the project, so the window's size cannot be fixed then: this editor builds
//! the egui window when it opens (or when the host asks its size), from the size saved with
//! the project, and lets the host resize it.

use std::error::Error;
use std::sync::Arc;

use nice_plug::editor::dpi::{LogicalSize, NativeSize};
use nice_plug::editor::{Editor, ParentWindowHandle, ResizeHint, SizeConstraints, SpawnedEditor};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, RepaintNotifier};
use parking_lot::Mutex;

use super::EditorApp;
use crate::plugin::worker::Shared;

/// Smallest window in logical pixels: every control and a usable roll fit.
pub const MIN_WIDTH: u32 = 600;
pub const MIN_HEIGHT: u32 = 400;
/// Largest window the host may ask for.
pub const MAX_WIDTH: u32 = 4000;
pub const MAX_HEIGHT: u32 = 3000;

/// The saved size, kept within the limits.
pub fn window_size(saved: (u32, u32)) -> (u32, u32) {
    (
        saved.0.clamp(MIN_WIDTH, MAX_WIDTH),
        saved.1.clamp(MIN_HEIGHT, MAX_HEIGHT),
    )
}

fn resize_hint() -> ResizeHint {
    ResizeHint {
        aspect_ratio_width: 0,
        aspect_ratio_height: 0,
        size_constraints: SizeConstraints::Logical {
            min_size: Some(LogicalSize::new(MIN_WIDTH as f32, MIN_HEIGHT as f32)),
            max_size: Some(LogicalSize::new(MAX_WIDTH as f32, MAX_HEIGHT as f32)),
        },
        // Both axes, no aspect-ratio lock.
        ..ResizeHint::RESIZABLE
    }
}

struct Built {
    editor: EguiEditor<EditorApp>,
    state: Arc<EguiEditorState>,
    size: (u32, u32),
}

/// PhraseGen's editor: an egui window sized from the project.
pub struct PhraseGenEditor {
    shared: Arc<Shared>,
    /// The egui editor, its window state and the size it was built for.
    inner: Mutex<Option<Built>>,
}

impl PhraseGenEditor {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            inner: Mutex::new(None),
        }
    }

    /// Runs `f` on the egui editor for the saved size, building it first if the saved size
    /// changed since (a project was restored) and its window is not open.
    fn with_inner<R>(&self, f: impl FnOnce(&EguiEditor<EditorApp>) -> R) -> R {
        let size = window_size(*self.shared.params.editor_size.read());
        let mut inner = self.inner.lock();
        let stale = |built: &Built| built.size != size && !built.state.is_open();
        if inner.as_ref().is_none_or(stale) {
            let state =
                EguiEditorState::from_size(LogicalSize::new(size.0 as f32, size.1 as f32), 1.0);
            let editor = nice_plug_egui::create_egui_editor(
                state.clone(),
                RepaintNotifier::new(),
                EguiNiceSettings::new()
                    .with_tile("PhraseGen")
                    .with_resize_hint(resize_hint()),
                EditorApp::new(self.shared.clone()),
            );
            if let Some(editor) = editor {
                *inner = Some(Built {
                    editor,
                    state,
                    size,
                });
            }
        }
        let built = inner
            .as_ref()
            .expect("create_egui_editor always returns an editor");
        f(&built.editor)
    }
}

impl Editor for PhraseGenEditor {
    type Handle = <EguiEditor<EditorApp> as Editor>::Handle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: nice_plug::context::gui::GuiContext,
        host: Option<nice_plug::editor::HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        self.with_inner(|e| {
            e.spawn(
                parent,
                wait_for_parent,
                fallback_scale_factor,
                gui_context,
                host,
            )
        })
    }

    fn size(&self) -> NativeSize<u32> {
        self.with_inner(|e| e.size())
    }

    fn resize_hint(&self) -> ResizeHint {
        resize_hint()
    }

    fn track_info_updated(&self, info: TrackInfo) {
        self.with_inner(|e| e.track_info_updated(info))
    }
}
