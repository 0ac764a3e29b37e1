//! File-backed source and sinks for the CLI (the engine itself has no file system access).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use converso_core::{ByteSink, ByteSource};

/// A file read at arbitrary offsets.
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    pub fn open(path: &Path) -> io::Result<FileSource> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }

    /// Copies standard input to an anonymous temporary file, so the engine gets random access
    /// (MP4 indexes may sit at the end) without holding the input in memory.
    pub fn spool_stdin() -> io::Result<FileSource> {
        let mut file = tempfile::tempfile()?;
        let len = io::copy(&mut io::stdin().lock(), &mut file)?;
        Ok(FileSource { file, len })
    }
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read(buf)
    }
}

/// Output to a temporary file next to the destination, renamed into place only when the
/// extraction succeeds: a failed or interrupted run never leaves a half-written file under the
/// requested name.
pub struct FileSink {
    out: BufWriter<tempfile::NamedTempFile>,
    dest: PathBuf,
}

impl FileSink {
    pub fn create(dest: &Path) -> io::Result<FileSink> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder.prefix(".converso-").suffix(".partial");
        // Ordinary file permissions (the umask applies), not a temporary file's private 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(dir)?;
        Ok(FileSink { out: BufWriter::with_capacity(256 * 1024, tmp), dest: dest.to_path_buf() })
    }

    /// Moves the finished file to its name.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(())
    }
}

impl ByteSink for FileSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)
    }

    fn can_write_at(&self) -> bool {
        true
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(offset))?;
        self.out.write_all(data)?;
        self.out.seek(SeekFrom::Start(end))?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Output to standard output: written in order, never patched.
pub struct StdoutSink(pub BufWriter<io::Stdout>);

impl ByteSink for StdoutSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
