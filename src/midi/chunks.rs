//! Finding the track chunks after the header. Strictly, each chunk must start where the one
//! before ends and fit in the file. Leniently, a track whose declared length does not lead to
//! the next chunk is cut where its end-of-track event really ends, stray bytes before a chunk
//! are skipped, and a cut-off last chunk is read as far as it goes.

use std::ops::Range;

use super::error::{Faults, Location, MidiError};
use super::events;

/// An `MTrk` chunk: where its header is and which bytes are its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackChunk {
    pub offset: usize,
    pub data: Range<usize>,
}

/// Finds the `MTrk` chunks from `pos` (just after the header) on; other chunks are passed over.
pub(crate) fn find_tracks(
    bytes: &[u8],
    mut pos: usize,
    faults: &mut Faults,
) -> Result<Vec<TrackChunk>, MidiError> {
    let mut tracks = Vec::new();
    while pos < bytes.len() {
        let remaining = bytes.len() - pos;
        let location = Location::in_track(tracks.len(), pos, None);
        // A few trailing padding bytes are common and harmless.
        if remaining < 8 && bytes[pos..].iter().all(|b| *b == 0) {
            break;
        }
        if remaining < 8 || !is_chunk_id(&bytes[pos..]) {
            let message = if remaining < 8 {
                format!("{remaining} stray bytes where a chunk header (8 bytes) should be")
            } else {
                format!(
                    "expected a track chunk (`MTrk`), found bytes {:02x?}",
                    &bytes[pos..pos + 4]
                )
            };
            let next = find_track_id(bytes, pos + 1);
            let repair = match next {
                Some(next) => format!(
                    "{} stray byte(s) skipped up to the track chunk at byte {next}",
                    next - pos
                ),
                None => format!("the last {remaining} byte(s) of the file are ignored"),
            };
            faults.malformed(location, message, &repair)?;
            let Some(next) = next else { break };
            pos = next;
            continue;
        }
        let is_track = &bytes[pos..pos + 4] == b"MTrk";
        let declared_len = be_u32(&bytes[pos + 4..pos + 8]) as usize;
        let data_start = pos + 8;
        let declared_end = data_start.saturating_add(declared_len);
        let end = if is_track && !faults.is_strict() && !is_boundary(bytes, declared_end) {
            repaired_track_end(bytes, tracks.len(), pos, declared_end, faults)
        } else if declared_end > bytes.len() {
            let message = truncated(declared_len, bytes.len() - data_start);
            faults.malformed(location, message, "reading what is there")?;
            bytes.len()
        } else {
            declared_end
        };
        if is_track {
            tracks.push(TrackChunk {
                offset: pos,
                data: data_start..end,
            });
        }
        pos = end;
    }
    Ok(tracks)
}

/// Where a track really ends when its declared length leads neither to the next chunk nor
/// to the end of the file: after its end-of-track event, decoded up to the next `MTrk`.
fn repaired_track_end(
    bytes: &[u8],
    track: usize,
    offset: usize,
    declared_end: usize,
    faults: &mut Faults,
) -> usize {
    let data_start = offset + 8;
    let declared_len = declared_end - data_start;
    let next_track = find_track_id(bytes, data_start).unwrap_or(bytes.len());
    let end_of_track =
        events::end_of_track(&bytes[data_start..next_track]).map(|end| data_start + end);
    let end = end_of_track.unwrap_or(declared_end.min(next_track));
    let location = Location::in_track(track, offset, None);
    let read_len = end - data_start;
    let message = if end_of_track.is_some() && end != declared_end {
        format!(
            "track chunk declares {declared_len} bytes, but its end-of-track ends after \
             {read_len} (at byte {end}); read as {read_len} bytes"
        )
    } else if end == bytes.len() && end < declared_end {
        format!(
            "{}; reading what is there",
            truncated(declared_len, read_len)
        )
    } else if end < declared_end {
        format!(
            "track chunk declares {declared_len} bytes, but the next track chunk starts \
             after {read_len} (at byte {end}); read as {read_len} bytes"
        )
    } else {
        return end;
    };
    faults.warn(location, message);
    end
}

fn truncated(declared_len: usize, remaining: usize) -> String {
    format!(
        "chunk declares {declared_len} bytes but only {remaining} remain: the file is truncated"
    )
}

/// Whether a chunk may end at `pos`: the file ends there or another chunk starts there.
fn is_boundary(bytes: &[u8], pos: usize) -> bool {
    pos == bytes.len() || bytes.get(pos..).is_some_and(is_chunk_id)
}

/// Four printable ASCII characters, as every chunk type is.
fn is_chunk_id(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_graphic)
}

/// The first `MTrk` at or after `from`.
fn find_track_id(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(4)
        .position(|w| w == b"MTrk")
        .map(|i| from + i)
}

pub(crate) fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
