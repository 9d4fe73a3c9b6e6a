// The whole Rust side of the greenroom desktop shell: run the `greenroom` sidecar, which
// attaches to the running daemon (or starts one that serves the web page) and prints the
// page's URL with a fresh short-lived token in its fragment; then show that page.
// The page does all the work, talking to the daemon over nng's WebSocket transport.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use tauri::Manager;
use tauri_plugin_shell::process::CommandEvent;
use tauri_plugin_shell::ShellExt;

fn is_page_url(line: &str) -> bool {
    line.starts_with("http://127.0.0.1:") || line.starts_with("http://localhost:") || line.starts_with("http://[::1]:")
}

fn main() {
    tauri::Builder::default()
        .plugin(tauri_plugin_shell::init())
        .setup(|app| {
            let window = app.get_webview_window("main").expect("the main window");
            let (mut events, _child) = app
                .shell()
                .sidecar("greenroom")?
                .args(["web", "--no-open", "--print-url"])
                .spawn()?;
            tauri::async_runtime::spawn(async move {
                while let Some(event) = events.recv().await {
                    match event {
                        CommandEvent::Stdout(bytes) => {
                            let line = String::from_utf8_lossy(&bytes).trim().to_string();
                            if is_page_url(&line) {
                                if let Ok(url) = line.parse::<tauri::Url>() {
                                    let _ = window.navigate(url);
                                }
                                break;
                            }
                        }
                        CommandEvent::Stderr(bytes) => {
                            let text = String::from_utf8_lossy(&bytes).replace('\'', "");
                            let _ = window.eval(&format!("document.getElementById('note').textContent = '{}'", text.trim()));
                        }
                        _ => {}
                    }
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("greenroom could not start its window");
}
