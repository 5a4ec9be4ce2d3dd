//! The Windows (OLE) drag of the exported file: the data object offers the file as a
//! `CF_HDROP` list that reads back to the same path (non-ASCII included), and a drop target
//! window registered with OLE in the same session receives the file when the simulated
//! mouse drags onto it and releases. CI runs this under Wine.
#![cfg(windows)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use phrasegen::plugin::editor::drag_windows::{drag_file, file_data_object, DragOutcome};
use windows::core::{implement, w, Ref, Result as WinResult};
use windows::Win32::Foundation::{
    DV_E_FORMATETC, HINSTANCE, HWND, LPARAM, LRESULT, POINTL, S_OK, WPARAM,
};
use windows::Win32::System::Com::{
    IDataObject, DATADIR_GET, DVASPECT_CONTENT, FORMATETC, TYMED_HGLOBAL,
};
use windows::Win32::System::LibraryLoader::GetModuleHandleW;
use windows::Win32::System::Ole::{
    IDropTarget, IDropTarget_Impl, OleInitialize, OleUninitialize, RegisterDragDrop,
    ReleaseStgMedium, RevokeDragDrop, CF_HDROP, CF_UNICODETEXT, DROPEFFECT, DROPEFFECT_COPY,
};
use windows::Win32::System::SystemServices::MODIFIERKEYS_FLAGS;
use windows::Win32::UI::Input::KeyboardAndMouse::{
    SendInput, INPUT, INPUT_0, INPUT_MOUSE, MOUSEEVENTF_LEFTDOWN, MOUSEEVENTF_LEFTUP, MOUSEINPUT,
};
use windows::Win32::UI::Shell::{DragQueryFileW, HDROP};
use windows::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW, PeekMessageW, RegisterClassW,
    SetCursorPos, ShowWindow, TranslateMessage, MSG, PM_REMOVE, SW_SHOW, WNDCLASSW, WS_EX_TOPMOST,
    WS_POPUP, WS_VISIBLE,
};

fn format(clipboard_format: u16) -> FORMATETC {
    FORMATETC {
        cfFormat: clipboard_format,
        ptd: std::ptr::null_mut(),
        dwAspect: DVASPECT_CONTENT.0,
        lindex: -1,
        tymed: TYMED_HGLOBAL.0 as u32,
    }
}

/// The files of a data object's `CF_HDROP` list, as a drop target reads them.
fn dropped_files(data: &IDataObject) -> WinResult<Vec<PathBuf>> {
    use std::os::windows::ffi::OsStringExt;
    unsafe {
        let mut medium = data.GetData(&format(CF_HDROP.0))?;
        let hdrop = HDROP(medium.u.hGlobal.0);
        let count = DragQueryFileW(hdrop, u32::MAX, None);
        let files = (0..count)
            .map(|i| {
                let len = DragQueryFileW(hdrop, i, None) as usize;
                let mut buffer = vec![0u16; len + 1];
                DragQueryFileW(hdrop, i, Some(&mut buffer));
                PathBuf::from(std::ffi::OsString::from_wide(&buffer[..len]))
            })
            .collect();
        ReleaseStgMedium(&mut medium);
        Ok(files)
    }
}

/// A `.mid` file in a folder whose name is not ASCII, like a user's profile may be.
fn exported_file(dir: &Path) -> PathBuf {
    let folder = dir.join("Zoë Łukasz 音楽");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("phrasegen-bach-chorales-4bars-1.mid");
    std::fs::write(&file, b"MThd").unwrap();
    file
}

#[test]
fn the_data_object_offers_the_file_as_an_hdrop_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = exported_file(dir.path());
    let data = file_data_object(&file).unwrap();
    unsafe {
        assert_eq!(data.QueryGetData(&format(CF_HDROP.0)), S_OK);
        assert_eq!(data.QueryGetData(&format(CF_UNICODETEXT.0)), DV_E_FORMATETC);
        let mut formats = [FORMATETC::default()];
        let mut fetched = 0u32;
        let list = data.EnumFormatEtc(DATADIR_GET.0 as u32).unwrap();
        assert_eq!(
            list.Next(&mut formats, Some(&mut fetched as *mut u32)),
            S_OK
        );
        assert_eq!((fetched, formats[0].cfFormat), (1, CF_HDROP.0));
    }
    assert_eq!(dropped_files(&data).unwrap(), vec![file.clone()]);
    // Each GetData hands out a copy the receiver frees: asking twice works.
    assert_eq!(dropped_files(&data).unwrap(), vec![file]);
}

/// What the test's drop target saw.
#[derive(Default)]
struct Seen {
    entered: bool,
    dropped: Option<Vec<PathBuf>>,
}

#[implement(IDropTarget)]
struct FileDropTarget {
    seen: Arc<Mutex<Seen>>,
}

impl IDropTarget_Impl for FileDropTarget_Impl {
    fn DragEnter(
        &self,
        _: Ref<IDataObject>,
        _: MODIFIERKEYS_FLAGS,
        _: &POINTL,
        effect: *mut DROPEFFECT,
    ) -> WinResult<()> {
        self.seen.lock().entered = true;
        unsafe { *effect = DROPEFFECT_COPY };
        Ok(())
    }

    fn DragOver(
        &self,
        _: MODIFIERKEYS_FLAGS,
        _: &POINTL,
        effect: *mut DROPEFFECT,
    ) -> WinResult<()> {
        unsafe { *effect = DROPEFFECT_COPY };
        Ok(())
    }

    fn DragLeave(&self) -> WinResult<()> {
        Ok(())
    }

    fn Drop(
        &self,
        data: Ref<IDataObject>,
        _: MODIFIERKEYS_FLAGS,
        _: &POINTL,
        effect: *mut DROPEFFECT,
    ) -> WinResult<()> {
        let files = dropped_files(data.ok()?)?;
        self.seen.lock().dropped = Some(files);
        unsafe { *effect = DROPEFFECT_COPY };
        Ok(())
    }
}

unsafe extern "system" fn window_proc(hwnd: HWND, msg: u32, w: WPARAM, l: LPARAM) -> LRESULT {
    unsafe { DefWindowProcW(hwnd, msg, w, l) }
}

fn mouse(flags: windows::Win32::UI::Input::KeyboardAndMouse::MOUSE_EVENT_FLAGS) {
    let input = INPUT {
        r#type: INPUT_MOUSE,
        Anonymous: INPUT_0 {
            mi: MOUSEINPUT {
                dwFlags: flags,
                ..Default::default()
            },
        },
    };
    let sent = unsafe { SendInput(&[input], std::mem::size_of::<INPUT>() as i32) };
    assert_eq!(sent, 1, "SendInput failed");
}

/// Handles this thread's window messages (and the OLE calls into the drop target) for `d`.
fn pump_for(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        unsafe {
            let mut msg = MSG::default();
            while PeekMessageW(&mut msg, None, 0, 0, PM_REMOVE).as_bool() {
                let _ = TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_drop_target_window_receives_the_dragged_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = exported_file(dir.path());
    let seen = Arc::new(Mutex::new(Seen::default()));
    unsafe {
        OleInitialize(None).unwrap();
        let instance: HINSTANCE = GetModuleHandleW(None).unwrap().into();
        let class = w!("PhraseGenDropTarget");
        let wc = WNDCLASSW {
            lpfnWndProc: Some(window_proc),
            hInstance: instance,
            lpszClassName: class,
            ..Default::default()
        };
        RegisterClassW(&wc);
        let hwnd = CreateWindowExW(
            WS_EX_TOPMOST,
            class,
            w!("drop here"),
            WS_POPUP | WS_VISIBLE,
            100,
            100,
            300,
            300,
            None,
            None,
            Some(instance),
            None,
        )
        .unwrap();
        let _ = ShowWindow(hwnd, SW_SHOW);
        let target: IDropTarget = FileDropTarget { seen: seen.clone() }.into();
        RegisterDragDrop(hwnd, &target).unwrap();
        pump_for(Duration::from_millis(200));

        // Press the button over the window and drag from this thread, so the drop target
        // is called directly: across threads Wine's COM marshalling hands QueryInterface a
        // misaligned IID, which Rust's debug checks reject. A helper thread plays the
        // user: it wiggles the mouse and releases the button.
        SetCursorPos(250, 250).unwrap();
        mouse(MOUSEEVENTF_LEFTDOWN);
        pump_for(Duration::from_millis(100));
        // It waits on the drag itself (the target saw it enter), not on a clock: under Wine
        // on a busy machine the drag loop may start late.
        let watched = seen.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut wiggle = 0;
            while !watched.lock().entered {
                if Instant::now() > deadline {
                    eprintln!("the drag never entered the drop target");
                    std::process::exit(1);
                }
                wiggle = (wiggle + 1) % 2;
                SetCursorPos(255 + 5 * wiggle, 255).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
            SetCursorPos(260, 255).unwrap();
            mouse(MOUSEEVENTF_LEFTUP);
            std::thread::sleep(Duration::from_secs(60));
            eprintln!("the drag never ended");
            std::process::exit(1);
        });
        let outcome = drag_file(&file).map_err(|e| e.to_string());

        RevokeDragDrop(hwnd).unwrap();
        let _ = DestroyWindow(hwnd);
        OleUninitialize();
        let seen = seen.lock();
        assert!(seen.entered, "the drag never entered the drop target");
        assert_eq!(
            seen.dropped.as_deref(),
            Some(&[file][..]),
            "what the target received"
        );
        assert_eq!(outcome, Ok(DragOutcome::Dropped));
    }
}
