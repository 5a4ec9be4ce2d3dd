//! Walking the events of one track. midly decodes each event; when it cannot, lenient reading
//! steps over the faults other readers step over (system messages that do not belong in a
//! file, running status lost after a meta or SysEx event) and otherwise keeps the events
//! decoded so far. Strict reading stops at the first undecodable event, as it always did.

use midly::{EventIter, MetaMessage, TrackEventKind};

use super::error::{Faults, Location, MidiError};

/// One decoded event of a track.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackEvent<'a> {
    /// 0-based index in the track; skipped messages count too.
    pub index: usize,
    /// Byte offset of the event (its delta time) from the start of the file.
    pub byte_offset: usize,
    /// Ticks since the previous event, including the delta times of skipped messages.
    pub delta_ticks: u64,
    pub kind: TrackEventKind<'a>,
}

/// The events of one track chunk, in order.
pub(crate) struct TrackEvents<'a, 'f> {
    track: usize,
    data: &'a [u8],
    /// File offset of `data[0]`, for locations.
    data_offset: usize,
    pos: usize,
    running_status: Option<u8>,
    /// The status of the last channel message, for running status lost after a meta event.
    last_channel_status: Option<u8>,
    index: usize,
    skipped_delta_ticks: u64,
    done: bool,
    faults: &'f mut Faults,
}

impl<'a, 'f> TrackEvents<'a, 'f> {
    /// `data` is the chunk's content (after its 8-byte header), found at `data_offset`.
    pub fn new(track: usize, data: &'a [u8], data_offset: usize, faults: &'f mut Faults) -> Self {
        Self {
            track,
            data,
            data_offset,
            pos: 0,
            running_status: None,
            last_channel_status: None,
            index: 0,
            skipped_delta_ticks: 0,
            done: false,
            faults,
        }
    }

    /// Where faults found while reading the events go (the caller has some of its own).
    pub fn faults(&mut self) -> &mut Faults {
        self.faults
    }

    fn location(&self, pos: usize) -> Location {
        Location::in_track(self.track, self.data_offset + pos, Some(self.index))
    }

    /// Steps over a fault at `at` that lenient reading can repair; false if there is none.
    fn step_over_fault(&mut self, at: usize) -> bool {
        let Some((delta, status_at)) = read_varlen(self.data, at) else {
            return false;
        };
        let Some(&status) = self.data.get(status_at) else {
            return false;
        };
        match status {
            0xF1..=0xF6 | 0xF8..=0xFE => {
                let (kind, name, data_len) = system_message(status);
                // Only data bytes belong to the message: a status byte starts the next event.
                let data_bytes = self.data[status_at + 1..]
                    .iter()
                    .take(data_len)
                    .take_while(|b| **b < 0x80)
                    .count();
                let after = status_at + 1 + data_bytes;
                self.faults.warn(
                    self.location(at),
                    format!(
                        "system {kind} message 0x{status:02X} ({name}) does not belong in a MIDI \
                         file; skipped ({} bytes)",
                        after - at
                    ),
                );
                self.skipped_delta_ticks += u64::from(delta);
                self.pos = after;
                self.index += 1;
                true
            }
            0x00..=0x7F if self.running_status.is_none() => match self.last_channel_status {
                Some(last) => {
                    self.faults.warn(
                        self.location(at),
                        format!(
                            "data byte 0x{status:02X} without a status byte after a meta or \
                             SysEx event; the last channel status 0x{last:02X} applied"
                        ),
                    );
                    self.running_status = Some(last);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

impl<'a> Iterator for TrackEvents<'a, '_> {
    type Item = Result<TrackEvent<'a>, MidiError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn decodes an event, or steps over a fault (and then tries again), or ends.
        loop {
            if self.done {
                return None;
            }
            if self.pos >= self.data.len() {
                self.done = true;
                if !self.faults.is_strict() {
                    self.faults.warn(
                        self.location(self.pos),
                        "the track ends without an end-of-track event; its events are read".into(),
                    );
                }
                return None;
            }
            let at = self.pos;
            let mut events = EventIter::new(&self.data[at..]);
            *events.running_status_mut() = self.running_status;
            match events.next()? {
                Ok(event) => {
                    self.pos = self.data.len() - events.unread().len();
                    self.running_status = events.running_status();
                    if matches!(event.kind, TrackEventKind::Midi { .. }) {
                        self.last_channel_status = self.running_status;
                    }
                    let decoded = TrackEvent {
                        index: self.index,
                        byte_offset: self.data_offset + at,
                        delta_ticks: self.skipped_delta_ticks + u64::from(u32::from(event.delta)),
                        kind: event.kind,
                    };
                    self.skipped_delta_ticks = 0;
                    self.index += 1;
                    let end_of_track =
                        matches!(event.kind, TrackEventKind::Meta(MetaMessage::EndOfTrack));
                    // Strict reading decodes whatever follows, as it always did.
                    if end_of_track && !self.faults.is_strict() {
                        self.done = true;
                        let left = self.data.len() - self.pos;
                        if left > 0 {
                            self.faults.warn(
                                self.location(self.pos),
                                format!("{left} byte(s) after the end-of-track ignored"),
                            );
                        }
                    }
                    return Some(Ok(decoded));
                }
                Err(e) => {
                    let problem = format!(
                        "cannot decode event: {}",
                        why_undecodable(self.data, at, self.running_status)
                            .unwrap_or_else(|| e.kind().message().to_string())
                    );
                    if self.faults.is_strict() {
                        self.done = true;
                        return Some(Err(MidiError::Malformed {
                            location: self.location(at),
                            message: problem,
                        }));
                    }
                    if !self.step_over_fault(at) {
                        self.done = true;
                        self.faults.warn(
                            self.location(at),
                            format!(
                                "{problem}; the rest of the track ({} bytes) is skipped",
                                self.data.len() - at
                            ),
                        );
                        return None;
                    }
                }
            }
        }
    }
}

/// Where the end-of-track event of a track's bytes ends, read leniently (to find where a
/// chunk with a wrong length really ends).
pub(crate) fn end_of_track(data: &[u8]) -> Option<usize> {
    let mut scratch = Faults::new(false);
    let mut events = TrackEvents::new(0, data, 0, &mut scratch);
    while let Some(Ok(event)) = events.next() {
        if matches!(event.kind, TrackEventKind::Meta(MetaMessage::EndOfTrack)) {
            return Some(events.pos);
        }
    }
    None
}

/// Why the event at `at` does not decode, in the file's terms (midly only says "malformed
/// event"); `None` when it is none of the faults recognised here.
fn why_undecodable(data: &[u8], at: usize, running_status: Option<u8>) -> Option<String> {
    let Some((_, status_at)) = read_varlen(data, at) else {
        return Some("its delta time is cut off or longer than 4 bytes".into());
    };
    let Some(&first) = data.get(status_at) else {
        return Some("the track ends after its delta time".into());
    };
    let (status, body) = match (first, running_status) {
        (0x80.., _) => (first, &data[status_at + 1..]),
        (_, Some(running)) => (running, &data[status_at..]),
        (_, None) => {
            return Some(format!(
                "data byte 0x{first:02X} without a status byte and no running status"
            ))
        }
    };
    let cut_off = |what: String, needed: usize| {
        (needed > body.len()).then(|| {
            format!(
                "{what} needs {needed} more bytes but the track has {}",
                body.len()
            )
        })
    };
    match status {
        0x80..=0xEF => {
            let needed = if matches!(status, 0xC0..=0xDF) { 1 } else { 2 };
            match body.iter().take(needed).position(|b| *b >= 0x80) {
                Some(i) => Some(format!(
                    "channel message 0x{status:02X} has the status byte 0x{:02X} where data byte \
                     {} should be",
                    body[i],
                    i + 1
                )),
                None => cut_off(format!("channel message 0x{status:02X}"), needed),
            }
        }
        0xF0 | 0xF7 | 0xFF => {
            // A meta event has its type byte before the length.
            let (name, length_at) = match (status, body.first()) {
                (0xFF, Some(kind)) => (format!("meta event 0x{kind:02X}"), 1),
                (0xFF, None) => ("meta event".to_string(), 1),
                _ => ("SysEx".to_string(), 0),
            };
            match read_varlen(body, length_at) {
                None => Some(format!(
                    "{name} has no complete length (cut off, or longer than 4 bytes)"
                )),
                Some((len, data_at)) => {
                    cut_off(format!("{name} of {len} bytes"), data_at + len as usize)
                        .or_else(|| Some(format!("{name} is malformed")))
                }
            }
        }
        _ => {
            let (kind, name, _) = system_message(status);
            Some(format!(
                "system {kind} message 0x{status:02X} ({name}) does not belong in a MIDI file"
            ))
        }
    }
}

/// A variable-length quantity (at most 4 bytes) at `at`: its value and where it ends.
fn read_varlen(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for (i, &byte) in data.get(at..)?.iter().take(4).enumerate() {
        value = (value << 7) | u32::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, at + i + 1));
        }
    }
    None
}

/// Kind, name and number of data bytes of a system common or real-time status byte.
fn system_message(status: u8) -> (&'static str, &'static str, usize) {
    match status {
        0xF1 => ("common", "time code quarter frame", 1),
        0xF2 => ("common", "song position", 2),
        0xF3 => ("common", "song select", 1),
        0xF6 => ("common", "tune request", 0),
        0xF4 | 0xF5 => ("common", "undefined", 0),
        0xF8 => ("real-time", "timing clock", 0),
        0xFA => ("real-time", "start", 0),
        0xFB => ("real-time", "continue", 0),
        0xFC => ("real-time", "stop", 0),
        0xFE => ("real-time", "active sensing", 0),
        _ => ("real-time", "undefined", 0),
    }
}
