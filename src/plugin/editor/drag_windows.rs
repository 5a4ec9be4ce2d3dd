//! Dragging the exported `.mid` file out of the window on Windows (OLE drag and drop), so it
//! can be dropped on a DAW track, in Explorer or on the desktop.
//!
//! The file is offered the way Explorer offers files: an `IDataObject` holding a `CF_HDROP`
//! file list, which every Windows DAW and Explorer accept. `DoDragDrop` runs a modal loop
//! until the mouse button is released, so, like the X11 drag, the drag runs on a thread of
//! its own (with OLE initialised there) and never blocks the host's window thread.

use std::mem::ManuallyDrop;
use std::path::Path;

use windows::core::{implement, Ref, BOOL, HRESULT};
use windows::Win32::Foundation::{
    GlobalFree, DRAGDROP_S_CANCEL, DRAGDROP_S_DROP, DRAGDROP_S_USEDEFAULTCURSORS, DV_E_FORMATETC,
    E_NOTIMPL, E_OUTOFMEMORY, E_POINTER, OLE_E_ADVISENOTSUPPORTED, POINT, S_OK,
};
use windows::Win32::System::Com::{
    IAdviseSink, IDataObject, IDataObject_Impl, IEnumFORMATETC, IEnumSTATDATA, DATADIR_GET,
    DVASPECT_CONTENT, FORMATETC, STGMEDIUM, STGMEDIUM_0, TYMED_HGLOBAL,
};
use windows::Win32::System::Memory::{GlobalAlloc, GlobalLock, GlobalUnlock, GMEM_MOVEABLE};
use windows::Win32::System::Ole::{
    DoDragDrop, IDropSource, IDropSource_Impl, OleInitialize, OleUninitialize, CF_HDROP,
    DROPEFFECT, DROPEFFECT_COPY, DROPEFFECT_NONE,
};
use windows::Win32::System::SystemServices::{MK_LBUTTON, MODIFIERKEYS_FLAGS};
use windows::Win32::UI::Shell::{SHCreateStdEnumFmtEtc, DROPFILES};

/// How a drag ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DragOutcome {
    /// A target accepted the drop (and took a copy of the file).
    Dropped,
    /// Released over nothing that accepts files, the target declined, or Escape was pressed.
    NotAccepted,
}

/// Any failure of the drag: OLE unavailable, a path that is not absolute, out of memory.
pub type DragError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a whole drag of `path`, from a pressed left mouse button to its release. Call it
/// when the user starts dragging, on a thread of its own: it initialises OLE there.
pub fn drag_file(path: &Path) -> Result<DragOutcome, DragError> {
    let data = file_data_object(path)?;
    // SAFETY: OLE is initialised on this thread until `_ole` drops, after the drag.
    unsafe { OleInitialize(None)? };
    let _ole = OleThread;
    let source: IDropSource = DropSource.into();
    let mut effect = DROPEFFECT_NONE;
    // SAFETY: both interfaces live until the call returns; `effect` is a valid out pointer.
    let result = unsafe { DoDragDrop(&data, &source, DROPEFFECT_COPY, &mut effect) };
    match result {
        DRAGDROP_S_DROP if effect != DROPEFFECT_NONE => Ok(DragOutcome::Dropped),
        DRAGDROP_S_DROP | DRAGDROP_S_CANCEL => Ok(DragOutcome::NotAccepted),
        failure => Err(windows::core::Error::from_hresult(failure).into()),
    }
}

/// The data object a drag carries: `path` (made absolute) as a one-file `CF_HDROP` list.
pub fn file_data_object(path: &Path) -> Result<IDataObject, DragError> {
    let path = std::path::absolute(path)?;
    Ok(FileDataObject {
        drop_files: drop_files_block(&path),
    }
    .into())
}

/// The `CF_HDROP` memory block for one file: a `DROPFILES` header, then the path in UTF-16,
/// ended by a NUL and the list by another.
fn drop_files_block(path: &Path) -> Vec<u8> {
    use std::os::windows::ffi::OsStrExt;
    let header = DROPFILES {
        pFiles: std::mem::size_of::<DROPFILES>() as u32,
        pt: POINT { x: 0, y: 0 },
        fNC: false.into(),
        fWide: true.into(),
    };
    // SAFETY: DROPFILES is plain old data; its bytes are read, never written.
    let mut block = unsafe {
        std::slice::from_raw_parts(
            (&header as *const DROPFILES).cast::<u8>(),
            std::mem::size_of::<DROPFILES>(),
        )
    }
    .to_vec();
    for unit in path.as_os_str().encode_wide().chain([0, 0]) {
        block.extend_from_slice(&unit.to_le_bytes());
    }
    block
}

/// Leaves OLE on the drag's thread when the drag is over.
struct OleThread;

impl Drop for OleThread {
    fn drop(&mut self) {
        // SAFETY: pairs the successful OleInitialize of `drag_file`.
        unsafe { OleUninitialize() };
    }
}

/// The only format offered: a file list in global memory, for display as content.
fn hdrop_format() -> FORMATETC {
    FORMATETC {
        cfFormat: CF_HDROP.0,
        ptd: std::ptr::null_mut(),
        dwAspect: DVASPECT_CONTENT.0,
        lindex: -1,
        tymed: TYMED_HGLOBAL.0 as u32,
    }
}

fn offers(format: &FORMATETC) -> bool {
    format.cfFormat == CF_HDROP.0
        && format.dwAspect == DVASPECT_CONTENT.0
        && format.tymed & TYMED_HGLOBAL.0 as u32 != 0
}

#[implement(IDataObject)]
struct FileDataObject {
    /// The `CF_HDROP` block; each `GetData` hands out a fresh copy the receiver frees.
    drop_files: Vec<u8>,
}

impl IDataObject_Impl for FileDataObject_Impl {
    fn GetData(&self, format: *const FORMATETC) -> windows::core::Result<STGMEDIUM> {
        // SAFETY: OLE passes a valid FORMATETC or null.
        let format = unsafe { format.as_ref() }.ok_or(windows::core::Error::from(E_POINTER))?;
        if !offers(format) {
            return Err(DV_E_FORMATETC.into());
        }
        // SAFETY: the block is allocated, filled while locked, and handed over unlocked; the
        // receiver owns it (pUnkForRelease is None) and frees it with ReleaseStgMedium.
        unsafe {
            let global = GlobalAlloc(GMEM_MOVEABLE, self.drop_files.len())?;
            let memory = GlobalLock(global);
            if memory.is_null() {
                let _ = GlobalFree(Some(global));
                return Err(E_OUTOFMEMORY.into());
            }
            std::ptr::copy_nonoverlapping(
                self.drop_files.as_ptr(),
                memory.cast::<u8>(),
                self.drop_files.len(),
            );
            // Fails with no error when the lock count reaches zero, as it does here.
            let _ = GlobalUnlock(global);
            Ok(STGMEDIUM {
                tymed: TYMED_HGLOBAL.0 as u32,
                u: STGMEDIUM_0 { hGlobal: global },
                pUnkForRelease: ManuallyDrop::new(None),
            })
        }
    }

    fn GetDataHere(&self, _: *const FORMATETC, _: *mut STGMEDIUM) -> windows::core::Result<()> {
        Err(E_NOTIMPL.into())
    }

    fn QueryGetData(&self, format: *const FORMATETC) -> HRESULT {
        // SAFETY: OLE passes a valid FORMATETC or null.
        match unsafe { format.as_ref() } {
            Some(format) if offers(format) => S_OK,
            Some(_) => DV_E_FORMATETC,
            None => E_POINTER,
        }
    }

    fn GetCanonicalFormatEtc(&self, _: *const FORMATETC, out: *mut FORMATETC) -> HRESULT {
        // SAFETY: OLE passes a valid out pointer or null.
        if let Some(out) = unsafe { out.as_mut() } {
            out.ptd = std::ptr::null_mut();
        }
        E_NOTIMPL
    }

    fn SetData(
        &self,
        _: *const FORMATETC,
        _: *const STGMEDIUM,
        _: BOOL,
    ) -> windows::core::Result<()> {
        Err(E_NOTIMPL.into())
    }

    fn EnumFormatEtc(&self, direction: u32) -> windows::core::Result<IEnumFORMATETC> {
        if direction != DATADIR_GET.0 as u32 {
            return Err(E_NOTIMPL.into());
        }
        // SAFETY: the shell copies the one format.
        unsafe { SHCreateStdEnumFmtEtc(&[hdrop_format()]) }
    }

    fn DAdvise(
        &self,
        _: *const FORMATETC,
        _: u32,
        _: Ref<IAdviseSink>,
    ) -> windows::core::Result<u32> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }

    fn DUnadvise(&self, _: u32) -> windows::core::Result<()> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }

    fn EnumDAdvise(&self) -> windows::core::Result<IEnumSTATDATA> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }
}

/// Follows the mouse: drops when the left button is released, cancels on Escape.
#[implement(IDropSource)]
struct DropSource;

impl IDropSource_Impl for DropSource_Impl {
    fn QueryContinueDrag(&self, escape_pressed: BOOL, keys: MODIFIERKEYS_FLAGS) -> HRESULT {
        if escape_pressed.as_bool() {
            DRAGDROP_S_CANCEL
        } else if keys.0 & MK_LBUTTON.0 == 0 {
            DRAGDROP_S_DROP
        } else {
            S_OK
        }
    }

    fn GiveFeedback(&self, _effect: DROPEFFECT) -> HRESULT {
        DRAGDROP_S_USEDEFAULTCURSORS
    }
}
