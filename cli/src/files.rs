//! Reading inputs and writing outputs: exit statuses, UTF-8 checks, atomic output files.

use std::path::Path;

/// A failure with its exit status.
pub(crate) enum Failure {
    /// Status 2: something the caller passed is wrong.
    Invalid(String),
    /// Status 1: anything else (I/O).
    Other(String),
    /// Status 3: the checker found a violation (the report is already written).
    Unsound,
}

pub(crate) fn read(path: &Path, what: &str) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Other(format!("cannot read {what} file {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::Invalid(format!(
            "{what} file {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

pub(crate) fn invalid<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Failure + '_ {
    move |e| Failure::Invalid(format!("{}: {e}", path.display()))
}

/// Streams `write` into the destination, called only after every input was validated, so
/// no file is created for invalid input. A file is written to a temporary file in the same
/// folder and renamed over the destination only when everything was written and flushed:
/// a failure (disk full, file size limit) leaves an existing file as it was. Standard
/// output is flushed and a write failure reported (status 1).
pub(crate) fn write_to(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    use std::io::Write;
    let io = |e: std::io::Error| Failure::Other(format!("cannot write the output: {e}"));
    match path {
        Some(p) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let create =
                |e: std::io::Error| Failure::Other(format!("cannot create {}: {e}", p.display()));
            let tmp = tempfile::Builder::new()
                .prefix(".bnbound-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(create)?;
            {
                let mut w = std::io::BufWriter::new(tmp.as_file());
                write(&mut w).map_err(io)?;
                w.flush().map_err(io)?;
            }
            tmp.as_file().sync_all().map_err(io)?;
            set_output_permissions(tmp.as_file(), p);
            // On error the temporary file is deleted when `tmp` is dropped.
            tmp.persist(p).map_err(|e| create(e.error))?;
            Ok(())
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut w).map_err(io)?;
            w.flush().map_err(io)
        }
    }
}

/// Gives the new output the permissions of the file it replaces, or the usual `0644`
/// (temporary files are created `0600`). Best effort: the output is complete either way.
fn set_output_permissions(file: &std::fs::File, dest: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(dest)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        let _ = file.set_permissions(perms);
    }
    #[cfg(not(unix))]
    {
        let _ = (file, dest);
    }
}
