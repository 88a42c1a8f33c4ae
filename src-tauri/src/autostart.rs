//! "Start at login": an entry in the OS's autostart list (an XDG autostart `.desktop` file on Linux, a launch agent
//! on macOS, the Run key on Windows) that starts `simrelay-desktop --minimized`, straight into the tray.

/// Why start at login could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[error("start at login: {0}")]
pub struct AutostartError(#[from] auto_launch::Error);

/// The app's autostart entry.
pub struct Autostart(auto_launch::AutoLaunch);

impl Autostart {
    /// The entry for the running executable.
    pub fn for_this_app() -> Result<Self, AutostartError> {
        let exe = std::env::current_exe().map_err(auto_launch::Error::from)?;
        let launch = auto_launch::AutoLaunchBuilder::new()
            .set_app_name("SimRelay")
            .set_app_path(&exe.to_string_lossy())
            .set_args(&["--minimized"])
            .build()?;
        Ok(Self(launch))
    }

    /// Whether the app starts at login.
    pub fn is_enabled(&self) -> bool {
        self.0.is_enabled().unwrap_or(false)
    }

    /// Turns start at login on or off.
    pub fn set(&self, on: bool) -> Result<(), AutostartError> {
        if on {
            self.0.enable()?;
        } else {
            self.0.disable()?;
        }
        Ok(())
    }
}
