//! `cargo xtask package`: the Debian packages a user installs, written to `<target>/packages/`:
//!
//! - `simrelay_<version>_amd64.deb` and `simrelay_<version>_arm64.deb` (Raspberry Pi OS 64-bit): `/usr/bin/simrelay`,
//!   the service `simrelay.service` (`simrelay serve` as the system user `simrelay`, in `dialout`, hardened), its
//!   configuration `/etc/simrelay/config.toml`, the ModemManager udev rule, and maintainer scripts that create the
//!   user and its state directory `/var/lib/simrelay`;
//! - `simrelay-desktop_<version>_amd64.deb`: `simrelay-desktop` and `simrelay-window`, the desktop entry and icons,
//!   `Depends: simrelay` (which brings the udev rule and the `simrelay` command).
//!
//! The binaries are built here (the arm64 one cross-built with Debian's `gcc-aarch64-linux-gnu`, see
//! `.cargo/config.toml`), stripped, and packed with `dpkg-deb`; nothing is downloaded. `Depends` comes from the
//! binaries themselves: the libraries they link (`readelf`) and the packages that hold them (`dpkg -S`), with the
//! newest glibc symbol version they use. The files that go into the packages are in `src-tauri/packaging/`.
//!
//! The test suite packs the same packages from its debug binaries (`--debug`) and inspects and runs them (see the
//! tests below): the release build of everything takes long, and the layout is what the test is about.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::{root, run, target_dir};

/// The Rust target of the Raspberry Pi package.
pub const ARM64_TARGET: &str = "aarch64-unknown-linux-gnu";
/// The packages' version: the workspace's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAINTAINER: &str = "SimRelay developers <simrelay@example.invalid>";
/// Where the files that go into the packages live, from the repository root.
const PACKAGING: &str = "src-tauri/packaging";

/// A Debian architecture SimRelay is packaged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64 PCs.
    Amd64,
    /// 64-bit ARM: Raspberry Pi 3, 4 and 5 with a 64-bit OS.
    Arm64,
}

impl Arch {
    /// Debian's name.
    pub fn deb(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    fn parse(name: &str) -> anyhow::Result<Arch> {
        match name {
            "amd64" => Ok(Arch::Amd64),
            "arm64" => Ok(Arch::Arm64),
            other => bail!("unknown architecture {other:?}; known: amd64, arm64"),
        }
    }

    /// The `--target` to build with; `None` for this machine's own (amd64).
    fn target(self) -> Option<&'static str> {
        match self {
            Arch::Amd64 => None,
            Arch::Arm64 => Some(ARM64_TARGET),
        }
    }

    fn strip(self) -> &'static str {
        match self {
            Arch::Amd64 => "strip",
            Arch::Arm64 => "aarch64-linux-gnu-strip",
        }
    }
}

/// Which cargo profile the binaries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What users get.
    Release,
    /// Quick packages for checking the layout (what the test suite does).
    Debug,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }

    /// xz for what users download; gzip level 1 for the throwaway ones (the debug binaries are large).
    fn compression(self) -> &'static [&'static str] {
        match self {
            Profile::Release => &["-Zxz"],
            Profile::Debug => &["-Zgzip", "-z1"],
        }
    }
}

/// Where a binary built for `arch` with `profile` is.
pub fn binary(target: &Path, arch: Arch, profile: Profile, name: &str) -> PathBuf {
    let mut dir = target.to_path_buf();
    if let Some(triple) = arch.target() {
        dir.push(triple);
    }
    dir.join(profile.dir()).join(name)
}

/// `cargo xtask package [--arch amd64|arm64]... [--debug] [--out DIR]`.
pub fn run_task(args: &[String]) -> anyhow::Result<()> {
    let mut arches = Vec::new();
    let mut profile = Profile::Release;
    let mut out = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--arch" => arches.push(Arch::parse(iter.next().context("--arch needs amd64 or arm64")?)?),
            "--debug" => profile = Profile::Debug,
            "--out" => out = Some(PathBuf::from(iter.next().context("--out needs a directory")?)),
            other => bail!("unknown option {other:?}; usage: cargo xtask package [--arch amd64|arm64]... [--debug] [--out DIR]"),
        }
    }
    if arches.is_empty() {
        arches = vec![Arch::Amd64, Arch::Arm64];
    }
    let target = target_dir();
    let out = out.unwrap_or_else(|| target.join("packages"));

    // A release engine embeds the UI: build it first (Trunk, offline).
    run(&mut Command::new(root().join("scripts/build-ui.sh")))?;
    let release = (profile == Profile::Release).then_some("--release");
    for arch in &arches {
        let mut build = Command::new("cargo");
        build.args(["build", "-p", "simrelay-engine"]).args(release);
        if let Some(triple) = arch.target() {
            build.args(["--target", triple]);
        }
        run(build.env("CARGO_TARGET_DIR", &target))?;
    }
    if arches.contains(&Arch::Amd64) {
        // What `tauri build` would turn on for the window: its assets come from the app, not a dev server.
        run(Command::new("cargo")
            .args([
                "build",
                "-p",
                "simrelay-desktop",
                "--features",
                "custom-protocol",
            ])
            .args(release)
            .env("CARGO_TARGET_DIR", &target))?;
    }

    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for arch in &arches {
        let simrelay = binary(&target, *arch, profile, "simrelay");
        written.push(engine_deb(*arch, &simrelay, profile, &out)?);
    }
    if arches.contains(&Arch::Amd64) {
        let desktop = binary(&target, Arch::Amd64, profile, "simrelay-desktop");
        let window = binary(&target, Arch::Amd64, profile, "simrelay-window");
        written.push(desktop_deb(&desktop, &window, profile, &out)?);
    }
    for deb in written {
        let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "xtask: wrote {} ({:.1} MiB)",
            deb.display(),
            size as f64 / 1048576.0
        );
    }
    Ok(())
}

/// A package being put together in a scratch directory.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn new(out: &Path, name: &str) -> anyhow::Result<Staging> {
        let dir = out.join(format!(".staging-{name}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("DEBIAN"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging { dir })
    }

    /// Writes `contents` to `path` (absolute in the installed system) with `mode`.
    fn file(&self, path: &str, contents: &[u8], mode: u32) -> anyhow::Result<PathBuf> {
        let dest = self.dir.join(path.trim_start_matches('/'));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&dest, contents)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        set_mode(&dest, mode)?;
        Ok(dest)
    }

    /// Copies a file of the source tree.
    fn copy(&self, path: &str, source: &Path, mode: u32) -> anyhow::Result<PathBuf> {
        let contents =
            std::fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
        self.file(path, &contents, mode)
    }

    /// Copies a binary and strips it (symbols and debug information are of no use to users).
    fn binary(&self, path: &str, source: &Path, arch: Arch) -> anyhow::Result<PathBuf> {
        if !source.is_file() {
            bail!(
                "{} is missing: build it first (cargo xtask package builds it)",
                source.display()
            );
        }
        let dest = self.copy(path, source, 0o755)?;
        run(Command::new(arch.strip()).arg(&dest))?;
        Ok(dest)
    }

    /// Writes `DEBIAN/control` and packs the tree into `<out>/<name>_<version>_<arch>.deb`.
    fn pack(self, control: &Control, profile: Profile, out: &Path) -> anyhow::Result<PathBuf> {
        let installed_kib = tree_size(&self.dir, &self.dir.join("DEBIAN"))?.div_ceil(1024);
        self.file(
            "DEBIAN/control",
            control.render(installed_kib).as_bytes(),
            0o644,
        )?;
        let deb = out.join(format!(
            "{}_{}_{}.deb",
            control.package, VERSION, control.arch
        ));
        run(Command::new("dpkg-deb")
            .arg("--root-owner-group")
            .args(profile.compression())
            .arg("--build")
            .arg(&self.dir)
            .arg(&deb))?;
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        Ok(deb)
    }
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

/// Bytes in the files under `dir`, leaving out `skip`.
fn tree_size(dir: &Path, skip: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path == skip {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)?;
        total += if meta.is_dir() {
            tree_size(&path, skip)?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// The fields of `DEBIAN/control`.
struct Control {
    package: &'static str,
    arch: &'static str,
    depends: Vec<String>,
    section: &'static str,
    description: &'static str,
}

impl Control {
    fn render(&self, installed_kib: u64) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "Package: {}", self.package);
        let _ = writeln!(text, "Version: {VERSION}");
        let _ = writeln!(text, "Architecture: {}", self.arch);
        let _ = writeln!(text, "Maintainer: {MAINTAINER}");
        let _ = writeln!(text, "Installed-Size: {installed_kib}");
        let _ = writeln!(text, "Depends: {}", self.depends.join(", "));
        let _ = writeln!(text, "Section: {}", self.section);
        let _ = writeln!(text, "Priority: optional");
        let _ = writeln!(text, "Description: {}", self.description.trim());
        text
    }
}

/// `simrelay_<version>_<arch>.deb`: the command, the service and its configuration, the udev rule.
pub fn engine_deb(
    arch: Arch,
    simrelay: &Path,
    profile: Profile,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let src = root().join(PACKAGING);
    let stage = Staging::new(out, &format!("simrelay-{}", arch.deb()))?;
    let bin = stage.binary("/usr/bin/simrelay", simrelay, arch)?;
    stage.copy(
        "/usr/lib/systemd/system/simrelay.service",
        &src.join("simrelay.service"),
        0o644,
    )?;
    stage.copy("/etc/simrelay/config.toml", &src.join("config.toml"), 0o644)?;
    stage.copy(
        "/usr/lib/udev/rules.d/77-simrelay-mm-ignore.rules",
        &src.join("77-simrelay-mm-ignore.rules"),
        0o644,
    )?;
    stage.copy(
        "/usr/share/doc/simrelay/README.Debian",
        &src.join("deb/README.Debian"),
        0o644,
    )?;
    stage.file(
        "/usr/share/doc/simrelay/copyright",
        COPYRIGHT.as_bytes(),
        0o644,
    )?;
    for script in ["postinst", "prerm", "postrm"] {
        stage.copy(
            &format!("DEBIAN/{script}"),
            &src.join(format!("deb/simrelay.{script}")),
            0o755,
        )?;
    }
    stage.file("DEBIAN/conffiles", b"/etc/simrelay/config.toml\n", 0o644)?;
    let mut depends = shlib_depends(&[&bin], arch)?;
    // The postinst creates the system user with it.
    depends.push("adduser".into());
    stage.pack(
        &Control {
            package: "simrelay",
            arch: arch.deb(),
            depends,
            section: "comm",
            description: "SMS inbox and verification codes from a GSM modem (command and service)
 SimRelay reads every SMS a GSM modem on a serial port receives, keeps it in a
 searchable history and serves it live to browsers and phones on the network,
 with the one-time verification code picked out. This package holds the
 `simrelay` command and the system service simrelay.service, for a headless
 relay such as a Raspberry Pi next to the modem.",
        },
        profile,
        out,
    )
}

/// `simrelay-desktop_<version>_amd64.deb`: the tray app and its window, the desktop entry and the icons.
pub fn desktop_deb(
    desktop: &Path,
    window: &Path,
    profile: Profile,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let src = root().join(PACKAGING);
    let stage = Staging::new(out, "simrelay-desktop")?;
    let resident = stage.binary("/usr/bin/simrelay-desktop", desktop, Arch::Amd64)?;
    let window = stage.binary("/usr/bin/simrelay-window", window, Arch::Amd64)?;
    stage.copy(
        "/usr/share/applications/SimRelay.desktop",
        &src.join("simrelay-desktop.desktop"),
        0o644,
    )?;
    for name in [
        "32x32.png",
        "64x64.png",
        "128x128.png",
        "128x128@2x.png",
        "icon.png",
    ] {
        let icon = root().join("icons").join(name);
        let (width, height) = png_size(&icon)?;
        stage.copy(
            &format!("/usr/share/icons/hicolor/{width}x{height}/apps/simrelay-desktop.png"),
            &icon,
            0o644,
        )?;
    }
    stage.file(
        "/usr/share/doc/simrelay-desktop/copyright",
        COPYRIGHT.as_bytes(),
        0o644,
    )?;
    let mut depends = vec![format!("simrelay (= {VERSION})")];
    depends.extend(shlib_depends(&[&resident, &window], Arch::Amd64)?);
    stage.pack(
        &Control {
            package: "simrelay-desktop",
            arch: Arch::Amd64.deb(),
            depends,
            section: "utils",
            description: "SMS inbox and verification codes from a GSM modem (desktop app)
 SimRelay's desktop app lives in the tray: every verification code a GSM modem
 receives pops up as a notification you can copy with one click, and its window
 shows the searchable message history. The engine runs inside the app and reads
 the same configuration as the `simrelay` command.",
        },
        profile,
        out,
    )
}

const COPYRIGHT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: SimRelay

Files: *
Copyright: SimRelay developers
License: MIT or Apache-2.0
 On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
";

/// Width and height of a PNG file, from its header.
fn png_size(path: &Path) -> anyhow::Result<(u32, u32)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let field = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    match (bytes.get(..8), field(16), field(20)) {
        (Some(b"\x89PNG\r\n\x1a\n"), Some(w), Some(h)) => Ok((w, h)),
        _ => bail!("{} is not a PNG file", path.display()),
    }
}

/// What a binary links: the libraries (`NEEDED`) and the newest glibc symbol version it uses (major, minor).
struct Linked {
    libraries: BTreeSet<String>,
    glibc: Option<(u32, u32)>,
}

/// What `binary` links, from `readelf`, which reads an ELF file of any architecture.
fn linked(binary: &Path) -> anyhow::Result<Linked> {
    let output = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new("readelf")
            .args(args)
            .arg(binary)
            .output()
            .context("cannot run readelf (binutils)")?;
        if !out.status.success() {
            bail!(
                "readelf {args:?} {} failed: {}",
                binary.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let needed = output(&["-d", "-W"])?
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect();
    let glibc = output(&["-V", "-W"])?
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.').map(str::parse::<u32>);
            Some((parts.next()?.ok()?, parts.next()?.ok()?))
        })
        .max();
    Ok(Linked {
        libraries: needed,
        glibc,
    })
}

/// `Depends` entries for the libraries `binaries` link: glibc's with the newest symbol version used, libgcc's, and
/// for anything else (the desktop's GTK and WebKitGTK) the installed package that holds it (`dpkg -S`; amd64 only,
/// the packages of this machine). An arm64 binary may link nothing but glibc and libgcc: the Raspberry Pi
/// package is cross-built without any other arm64 library.
fn shlib_depends(binaries: &[&Path], arch: Arch) -> anyhow::Result<Vec<String>> {
    let mut needed = BTreeSet::new();
    let mut glibc = None;
    for binary in binaries {
        let linked = linked(binary)?;
        needed.extend(linked.libraries);
        glibc = glibc.max(linked.glibc);
    }
    let mut depends = BTreeSet::new();
    for soname in &needed {
        let package = match soname.as_str() {
            "libc.so.6" | "libm.so.6" | "libpthread.so.0" | "libdl.so.2" | "librt.so.1"
            | "libutil.so.1" => match glibc {
                Some((major, minor)) => format!("libc6 (>= {major}.{minor})"),
                None => "libc6".to_owned(),
            },
            name if name.starts_with("ld-linux") => continue,
            "libgcc_s.so.1" => "libgcc-s1".to_owned(),
            other if arch == Arch::Amd64 => package_of(other)?,
            other => bail!(
                "the {} binary links {other}, which has no arm64 package here; the Raspberry Pi package must link \
                 only glibc (see TOOLCHAIN.md: keep the engine free of other C libraries)",
                arch.deb()
            ),
        };
        depends.insert(package);
    }
    Ok(depends.into_iter().collect())
}

/// The installed Debian package that holds the library `soname` (found through the linker cache).
fn package_of(soname: &str) -> anyhow::Result<String> {
    let cache = Command::new("/sbin/ldconfig")
        .arg("-p")
        .output()
        .context("cannot run ldconfig -p")?;
    let path = String::from_utf8_lossy(&cache.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with(&format!("{soname} ")) && l.contains("x86-64"))
        .find_map(|l| l.split_once("=> ").map(|(_, p)| p.trim().to_owned()))
        .with_context(|| format!("{soname} is not in the linker cache"))?;
    // dpkg knows a file under the name its package ships it, with or without the merged /usr prefix.
    let real = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
    let mut candidates = vec![PathBuf::from(&path), real.clone()];
    for p in [PathBuf::from(&path), real] {
        if let Ok(rest) = p.strip_prefix("/usr") {
            candidates.push(Path::new("/").join(rest));
        } else {
            candidates.push(Path::new("/usr").join(p.strip_prefix("/").unwrap_or(&p)));
        }
    }
    for candidate in candidates {
        let out = Command::new("dpkg")
            .arg("-S")
            .arg(&candidate)
            .output()
            .context("cannot run dpkg -S")?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(package) = text.split(':').next().filter(|p| !p.is_empty()) {
                return Ok(package.trim().to_owned());
            }
        }
    }
    bail!("no installed package holds {soname} ({path})")
}

#[cfg(test)]
mod tests {
    //! Packs the three packages from the debug binaries the test script built (the release packages differ only
    //! in the profile and the compression), then looks at them as dpkg and a user's machine would: their control
    //! fields and file lists (`dpkg-deb -I`, `-c`), the service unit (`systemd-analyze verify`), the maintainer
    //! scripts run by a real `dpkg -i` / `dpkg --purge` in a throwaway overlay of this system, and the arm64
    //! `simrelay` run under qemu: it decodes a PDU, and `serve --demo` answers `/api/health`.

    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    fn built(path: PathBuf, how: &str) -> PathBuf {
        assert!(
            path.is_file(),
            "{} is missing: build it first with `{how}` (scripts/test.sh does)",
            path.display()
        );
        path
    }

    fn text(command: &mut Command) -> String {
        let out = command.output().expect("runs");
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn field<'a>(info: &'a str, name: &str) -> &'a str {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in\n{info}"))
    }

    /// The file list of a package: (mode and owner, path) per entry.
    fn contents(deb: &Path) -> Vec<(String, String)> {
        text(Command::new("dpkg-deb").arg("-c").arg(deb))
            .lines()
            .map(|l| {
                let parts: Vec<&str> = l.split_whitespace().collect();
                (
                    format!("{} {}", parts[0], parts[1]),
                    parts[5].trim_start_matches('.').to_owned(),
                )
            })
            .collect()
    }

    fn has(list: &[(String, String)], path: &str, mode: &str) -> bool {
        list.iter()
            .any(|(m, p)| p == path && m == &format!("{mode} root/root"))
    }

    /// The control fields every `simrelay` package has, whatever its architecture.
    fn engine_control(deb: &Path, arch: &str) {
        let info = text(Command::new("dpkg-deb").arg("-I").arg(deb));
        assert_eq!(field(&info, "Package"), "simrelay");
        assert_eq!(field(&info, "Version"), VERSION);
        assert_eq!(field(&info, "Architecture"), arch);
        let depends = field(&info, "Depends");
        assert!(
            depends.starts_with("libc6 (>= 2.") && depends.contains("adduser"),
            "{depends}"
        );
        assert!(
            !depends.contains("webkit") && !depends.contains("gtk"),
            "the service needs no GUI library: {depends}"
        );
        for script in ["postinst", "prerm", "postrm", "conffiles"] {
            assert!(info.contains(script), "no {script} in\n{info}");
        }
    }

    /// The service package has the command, the unit, the config and the rule.
    fn engine_files(deb: &Path) -> Vec<(String, String)> {
        let engine = contents(deb);
        for (path, mode) in [
            ("/usr/bin/simrelay", "-rwxr-xr-x"),
            ("/usr/lib/systemd/system/simrelay.service", "-rw-r--r--"),
            ("/etc/simrelay/config.toml", "-rw-r--r--"),
            (
                "/usr/lib/udev/rules.d/77-simrelay-mm-ignore.rules",
                "-rw-r--r--",
            ),
            ("/usr/share/doc/simrelay/copyright", "-rw-r--r--"),
        ] {
            assert!(has(&engine, path, mode), "{path} {mode} not in {engine:?}");
        }
        engine
    }

    #[test]
    fn the_service_and_desktop_packages_hold_their_files_and_install() {
        let target = target_dir();
        let simrelay = built(
            binary(&target, Arch::Amd64, Profile::Debug, "simrelay"),
            "cargo build -p simrelay-engine",
        );
        let desktop = built(
            binary(&target, Arch::Amd64, Profile::Debug, "simrelay-desktop"),
            "cargo build -p simrelay-desktop",
        );
        let window = built(
            binary(&target, Arch::Amd64, Profile::Debug, "simrelay-window"),
            "cargo build -p simrelay-desktop",
        );
        let out = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        let engine_deb =
            engine_deb(Arch::Amd64, &simrelay, Profile::Debug, out.path()).expect("amd64 package");
        let app_deb =
            desktop_deb(&desktop, &window, Profile::Debug, out.path()).expect("desktop package");
        eprintln!("packed the two amd64 packages in {:?}", started.elapsed());
        assert_eq!(
            engine_deb.file_name().expect("name").to_string_lossy(),
            format!("simrelay_{VERSION}_amd64.deb")
        );
        assert_eq!(
            app_deb.file_name().expect("name").to_string_lossy(),
            format!("simrelay-desktop_{VERSION}_amd64.deb")
        );

        engine_control(&engine_deb, "amd64");
        let info = text(Command::new("dpkg-deb").arg("-I").arg(&app_deb));
        assert_eq!(field(&info, "Package"), "simrelay-desktop");
        let depends = field(&info, "Depends");
        assert!(
            depends.starts_with(&format!("simrelay (= {VERSION}), ")),
            "{depends}"
        );
        assert!(
            depends.contains("libwebkit2gtk-4.1-0") && depends.contains("libgtk-3-0"),
            "{depends}"
        );

        // The desktop package has the programs, the entry and the icons, and nothing the service package has
        // (no file conflicts between the two).
        let engine = engine_files(&engine_deb);
        let app = contents(&app_deb);
        for (path, mode) in [
            ("/usr/bin/simrelay-desktop", "-rwxr-xr-x"),
            ("/usr/bin/simrelay-window", "-rwxr-xr-x"),
            ("/usr/share/applications/SimRelay.desktop", "-rw-r--r--"),
            (
                "/usr/share/icons/hicolor/128x128/apps/simrelay-desktop.png",
                "-rw-r--r--",
            ),
            (
                "/usr/share/icons/hicolor/512x512/apps/simrelay-desktop.png",
                "-rw-r--r--",
            ),
        ] {
            assert!(has(&app, path, mode), "{path} {mode} not in {app:?}");
        }
        for (_, path) in &app {
            let file = !path.ends_with('/');
            assert!(
                !(file && engine.iter().any(|(_, p)| p == path)),
                "{path} is in both packages"
            );
        }

        let extracted = tempfile::tempdir().expect("tempdir");
        text(
            Command::new("dpkg-deb")
                .arg("-x")
                .arg(&engine_deb)
                .arg(extracted.path()),
        );
        unit_verifies(extracted.path());
        maintainer_scripts_make_the_user_and_purge_the_state(&engine_deb, &app_deb);
    }

    /// The Raspberry Pi package: cross-built, it holds what the amd64 one holds, links nothing but glibc, and its
    /// `simrelay` runs (under qemu).
    #[test]
    fn the_arm64_package_holds_the_service_and_its_binary_runs() {
        let arm64 = built(
            binary(&target_dir(), Arch::Arm64, Profile::Debug, "simrelay"),
            "cargo build -p simrelay-engine --target aarch64-unknown-linux-gnu",
        );
        let out = tempfile::tempdir().expect("tempdir");
        let deb =
            engine_deb(Arch::Arm64, &arm64, Profile::Debug, out.path()).expect("arm64 package");
        assert_eq!(
            deb.file_name().expect("name").to_string_lossy(),
            format!("simrelay_{VERSION}_arm64.deb")
        );
        engine_control(&deb, "arm64");
        engine_files(&deb);
        let extracted = tempfile::tempdir().expect("tempdir");
        text(
            Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(extracted.path()),
        );
        arm64_binary_runs(&extracted.path().join("usr/bin/simrelay"));
    }

    /// The unit file as systemd reads it, in a root that holds the package's files (the unit's binary where it
    /// will be installed) and this system's own units (the targets it is ordered against).
    fn unit_verifies(root: &Path) {
        let units = root.join("usr/lib/systemd/system");
        text(
            Command::new("cp")
                .arg("-rn")
                .arg("/lib/systemd/system/.")
                .arg(&units),
        );
        let unit = units.join("simrelay.service");
        let text = std::fs::read_to_string(&unit).expect("unit");
        for line in [
            "ExecStart=/usr/bin/simrelay --config /etc/simrelay/config.toml serve",
            "User=simrelay",
            "SupplementaryGroups=dialout",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "ReadWritePaths=/var/lib/simrelay",
            "StateDirectory=simrelay",
            "Environment=SIMRELAY_LOG_FILES=false",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in the unit");
        }
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", root.display()))
            .arg(&unit)
            .output()
            .expect("systemd-analyze (Debian's systemd package) runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("simrelay.service"),
            "systemd-analyze verify: {stderr}"
        );
        // It does find mistakes: the same unit with a misspelt key fails.
        let broken = units.join("broken.service");
        std::fs::write(&broken, text.replace("ProtectHome=", "ProtectHomes=")).expect("write");
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", root.display()))
            .arg(&broken)
            .output()
            .expect("runs");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("ProtectHomes"),
            "systemd-analyze verify missed a misspelt key"
        );
    }

    fn qemu(binary: &Path) -> Command {
        let mut command = Command::new("qemu-aarch64-static");
        command
            .args(["-L", "/usr/aarch64-linux-gnu"])
            .arg(binary)
            .env("SIMRELAY_LOG_FILES", "false")
            .env_remove("SIMRELAY_CONFIG");
        command
    }

    /// The Raspberry Pi binary, under qemu: decodes a PDU, serves the demo modem and answers `/api/health`.
    fn arm64_binary_runs(binary: &Path) {
        let header = std::fs::read(binary).expect("binary");
        // ELF, 64-bit, e_machine 183 (AArch64).
        assert_eq!(&header[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([header[18], header[19]]), 183);

        // The README's own example PDU: "[DEMO] Your DemoBank verification code is 482913. ..."
        let json = text(qemu(binary).args([
            "decode-pdu",
            "0791447758100650040ED0C472FB2D0CBBD70000621122208001005C1B1EB1D87C6E7CA0ECBB2E0711CBEDB730EC5E83EC6579DA9C1E87E9E9B71B347E93CBA0F41C44C3C972B1990B94A483CA78785A5E9E83D26E500DD44EBBEBF4F2DC057296ED6539688E0ECBCBA034DD05",
        ]));
        let decoded: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(decoded["sender"], "DemoBank", "{decoded}");
        assert!(
            decoded["text"]
                .as_str()
                .is_some_and(|t| t.contains("482913")),
            "{decoded}"
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = qemu(binary)
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("pi.db"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-aarch64-static runs (Debian's qemu-user-static)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .trim()
            .strip_prefix("SimRelay is listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        let mut answer = String::new();
        let start = Instant::now();
        while !answer.starts_with("HTTP/1.1 200") && start.elapsed() < Duration::from_secs(60) {
            answer.clear();
            if let Ok(mut stream) = std::net::TcpStream::connect(&url) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                let request =
                    format!("GET /api/health HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n");
                if stream.write_all(request.as_bytes()).is_ok() {
                    let _ = stream.read_to_string(&mut answer);
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let status = child.wait().expect("exits");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "GET /api/health on the arm64 binary: {answer:?}"
        );
        assert!(status.success(), "the arm64 server stopped with {status:?}");
    }

    /// `dpkg -i` and `dpkg --purge` for real, inside a private mount namespace over an overlay of this system, so
    /// nothing of it reaches the machine: the postinst makes the system user (in dialout) and the state
    /// directory, and locks the config down; the desktop package installs beside it (its `Depends` hold); purge
    /// deletes the state.
    fn maintainer_scripts_make_the_user_and_purge_the_state(deb: &Path, desktop: &Path) {
        for script in ["postinst", "prerm", "postrm"] {
            let path = root()
                .join(PACKAGING)
                .join(format!("deb/simrelay.{script}"));
            text(Command::new("sh").arg("-n").arg(&path));
        }
        let work = tempfile::tempdir().expect("tempdir");
        let script = format!(
            r#"set -e
w={work}
mkdir -p $w/upper $w/work $w/root
mount -t overlay overlay -o lowerdir=/,upperdir=$w/upper,workdir=$w/work $w/root
mount --bind /dev $w/root/dev
mount -t proc proc $w/root/proc
mkdir -p $w/root/tmp/deb && cp {deb} {desktop} $w/root/tmp/deb/
chroot $w/root sh -c '
  set -e
  dpkg -i /tmp/deb/*.deb >/dev/null
  echo "user=$(id -nG simrelay)"
  echo "state=$(stat -c "%U:%G %a" /var/lib/simrelay)"
  echo "etc=$(stat -c "%U:%G %a" /etc/simrelay) $(stat -c "%U:%G %a" /etc/simrelay/config.toml)"
  echo "bin=$(/usr/bin/simrelay --version)"
  runuser -u simrelay -- env SIMRELAY_LOG_FILES=false /usr/bin/simrelay --config /etc/simrelay/config.toml config \
    | sed "s/^/config|/"
  echo "desktop=$(dpkg-query -W -f=\${{Status}} simrelay-desktop) $(test -x /usr/bin/simrelay-window && echo window)"
  dpkg --purge simrelay-desktop simrelay >/dev/null
  echo "purged=$(test -e /var/lib/simrelay && echo kept || echo gone) $(test -e /usr/bin/simrelay && echo kept || echo gone)"
'
"#,
            work = work.path().display(),
            deb = deb.display(),
            desktop = desktop.display()
        );
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .output()
            .expect("unshare runs");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "installing the package in an overlay failed (needs root and mount namespaces): {}\n{report}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = |key: &str| {
            report
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key} in {report}"))
                .to_owned()
        };
        let groups = line("user");
        assert!(
            groups.split(' ').any(|g| g == "dialout") && groups.split(' ').any(|g| g == "simrelay"),
            "{groups}"
        );
        assert_eq!(line("state"), "simrelay:simrelay 750");
        assert_eq!(line("etc"), "root:simrelay 750 root:simrelay 640");
        assert!(line("bin").starts_with("simrelay "), "{report}");
        // The service's user reads the shipped configuration (root:simrelay 0640), and it keeps every file of the
        // service in its one writable directory.
        let config: Vec<&str> = report
            .lines()
            .filter_map(|l| l.strip_prefix("config|"))
            .collect();
        for expected in [
            "# state:       /var/lib/simrelay (access token, paired devices, TLS certificate)",
            "# logs:        standard error only (log_files = false)",
            "db = \"/var/lib/simrelay/simrelay.db\"",
        ] {
            assert!(config.contains(&expected), "no {expected:?} in {config:#?}");
        }
        assert_eq!(line("desktop"), "install ok installed window");
        assert_eq!(line("purged"), "gone gone");
    }
}
