//! The window's keyboard shortcuts: one table read both ways, from a key press to what it does
//! and from an action to the key shown in its tooltip, so the two cannot disagree.
//!
//! Only these keys are taken from the host while the window has the keyboard; every other key
//! (the space bar above all) still reaches the DAW's own shortcuts. They do nothing while a
//! text field is being typed in.

use egui::{Key, Modifiers};

/// What a shortcut does in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    Generate,
    Back,
    Next,
    Preview,
    Star,
    Undo,
    Redo,
}

/// Whether the command key (Ctrl, or Cmd on a Mac) is held with the key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Without,
    With,
    WithShift,
}

/// Each shortcut, its key and how it is written in the tooltips.
const TABLE: [(Shortcut, Key, Command, &str); 8] = [
    (Shortcut::Generate, Key::G, Command::Without, "G"),
    (
        Shortcut::Back,
        Key::ArrowLeft,
        Command::Without,
        "Left arrow",
    ),
    (
        Shortcut::Next,
        Key::ArrowRight,
        Command::Without,
        "Right arrow",
    ),
    (Shortcut::Preview, Key::P, Command::Without, "P"),
    (Shortcut::Star, Key::S, Command::Without, "S"),
    (Shortcut::Undo, Key::Z, Command::With, "Ctrl+Z"),
    (Shortcut::Redo, Key::Z, Command::WithShift, "Ctrl+Shift+Z"),
    (Shortcut::Redo, Key::Y, Command::With, "Ctrl+Y"),
];

/// The shortcut a key press means, if any.
pub fn shortcut(key: Key, modifiers: Modifiers) -> Option<Shortcut> {
    let command = match (modifiers.command || modifiers.ctrl, modifiers.shift) {
        (false, _) => Command::Without,
        (true, false) => Command::With,
        (true, true) => Command::WithShift,
    };
    if modifiers.alt {
        return None;
    }
    TABLE
        .iter()
        .find(|(_, k, c, _)| *k == key && *c == command)
        .map(|(s, ..)| *s)
}

/// The key of `action`, as its tooltip names it.
pub fn key_name(action: Shortcut) -> &'static str {
    TABLE
        .iter()
        .find(|(s, ..)| *s == action)
        .map_or("", |(.., name)| name)
}

/// `tip` followed by the shortcut of `action`, e.g. "Make a new phrase (G)".
pub fn tip_with_key(tip: &str, action: Shortcut) -> String {
    format!("{tip} ({})", key_name(action))
}

/// The shortcuts pressed in this frame, in order (held keys repeating are left out).
pub fn pressed(input: &egui::InputState) -> Vec<Shortcut> {
    input
        .events
        .iter()
        .filter_map(|e| match e {
            egui::Event::Key {
                key,
                pressed: true,
                repeat: false,
                modifiers,
                ..
            } => shortcut(*key, *modifiers),
            _ => None,
        })
        .collect()
}

/// The keys the window takes from the host (as the window system names them), both cases of
/// each letter.
pub fn captured_keys() -> Vec<nice_plug_egui::Key> {
    use nice_plug_egui::Key as K;
    let mut keys: Vec<K> = ["ArrowLeft", "ArrowRight"]
        .iter()
        .filter_map(|name| name.parse().ok())
        .collect();
    for letter in ["g", "p", "s", "z", "y"] {
        keys.push(K::Character(letter.into()));
        keys.push(K::Character(letter.to_uppercase()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctrl() -> Modifiers {
        Modifiers {
            ctrl: true,
            command: true,
            ..Modifiers::NONE
        }
    }

    #[test]
    fn keys_map_to_their_actions_and_back() {
        let ctrl_shift = Modifiers {
            shift: true,
            ..ctrl()
        };
        for (key, modifiers, action) in [
            (Key::G, Modifiers::NONE, Some(Shortcut::Generate)),
            (Key::ArrowLeft, Modifiers::NONE, Some(Shortcut::Back)),
            (Key::ArrowRight, Modifiers::NONE, Some(Shortcut::Next)),
            (Key::P, Modifiers::NONE, Some(Shortcut::Preview)),
            (Key::Z, ctrl(), Some(Shortcut::Undo)),
            (Key::Z, ctrl_shift, Some(Shortcut::Redo)),
            (Key::Y, ctrl(), Some(Shortcut::Redo)),
            // Ctrl+G, a bare Z and the space bar are the host's.
            (Key::G, ctrl(), None),
            (Key::Z, Modifiers::NONE, None),
            (Key::Space, Modifiers::NONE, None),
            (Key::G, Modifiers::ALT, None),
        ] {
            assert_eq!(shortcut(key, modifiers), action, "{key:?} {modifiers:?}");
        }
        for (action, ..) in TABLE {
            assert!(!key_name(action).is_empty());
        }
        assert_eq!(
            tip_with_key("Make a new phrase", Shortcut::Generate),
            "Make a new phrase (G)"
        );
    }

    #[test]
    fn every_shortcut_key_is_taken_from_the_host_and_the_space_bar_is_not() {
        let keys = captured_keys();
        for (_, key, ..) in TABLE {
            let name = match key {
                Key::ArrowLeft => "ArrowLeft".to_string(),
                Key::ArrowRight => "ArrowRight".to_string(),
                letter => letter.name().to_lowercase(),
            };
            let captured = keys.iter().any(|k| k.to_string() == name);
            assert!(captured, "{key:?} is not captured");
        }
        assert!(keys.iter().all(|k| k.to_string() != " "));
        assert_eq!(keys.len(), 12, "two arrows, five letters in both cases");
    }
}
