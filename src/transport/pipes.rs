//! Stdin and stdout for the MCP transport, driven by the runtime's own event loop when they are
//! pipes or sockets (what an MCP client connects), and by tokio's standard handles otherwise.
//!
//! tokio's `stdin()`/`stdout()` do every read and every write on a blocking-pool thread, so each
//! message crosses threads twice and wakes a second core; on 2 cores that hand-off was most of a
//! call's cost (see BENCHMARKS.md). A pipe or socket can instead be put in non-blocking mode and
//! polled like any other I/O: one thread, no hand-offs.
//!
//! Non-blocking mode is a property of the shared open file description, so it is set only where
//! it cannot surprise anyone: never on a terminal or a regular file, and never on a stream that is
//! also this process's stderr (a `2>&1` would make log writes fail with `EAGAIN`). The mode is
//! put back when [`Restore`] is dropped, for whoever shares the description after this process.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::net::unix::pipe;

/// The process's stdin.
pub enum Input {
    Pipe(pipe::Receiver),
    Socket(UnixStream),
    Std(tokio::io::Stdin),
}

/// The process's stdout.
pub enum Output {
    Pipe(pipe::Sender),
    Socket(UnixStream),
    Std(tokio::io::Stdout),
}

/// Puts the streams [`open`] made non-blocking back in blocking mode when dropped.
#[derive(Default)]
pub struct Restore(Vec<(Kind, OwnedFd)>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pipe,
    Socket,
}

/// Stdin and stdout as async streams. Must be called inside the runtime.
pub fn open() -> (Input, Output, Restore) {
    let mut restore = Restore::default();
    let stderr = identity(io::stderr().as_fd().try_clone_to_owned().ok());

    let input = match pollable(io::stdin().as_fd().try_clone_to_owned(), stderr) {
        Some((Kind::Pipe, fd)) => keep(&mut restore, Kind::Pipe, &fd)
            .and_then(|()| pipe::Receiver::from_owned_fd(fd))
            .map(Input::Pipe),
        Some((Kind::Socket, fd)) => keep(&mut restore, Kind::Socket, &fd)
            .and_then(|()| socket(fd))
            .map(Input::Socket),
        None => Err(io::ErrorKind::Unsupported.into()),
    }
    .unwrap_or_else(|_| Input::Std(tokio::io::stdin()));

    let output = match pollable(io::stdout().as_fd().try_clone_to_owned(), stderr) {
        Some((Kind::Pipe, fd)) => keep(&mut restore, Kind::Pipe, &fd)
            .and_then(|()| pipe::Sender::from_owned_fd(fd))
            .map(Output::Pipe),
        Some((Kind::Socket, fd)) => keep(&mut restore, Kind::Socket, &fd)
            .and_then(|()| socket(fd))
            .map(Output::Socket),
        None => Err(io::ErrorKind::Unsupported.into()),
    }
    .unwrap_or_else(|_| Output::Std(tokio::io::stdout()));

    (input, output, restore)
}

/// Device and inode: two descriptors with the same identity are the same pipe or socket.
fn identity(fd: Option<OwnedFd>) -> Option<(u64, u64)> {
    let meta = File::from(fd?).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// A duplicate of `fd` when it is a pipe or a socket that is not also stderr.
fn pollable(fd: io::Result<OwnedFd>, stderr: Option<(u64, u64)>) -> Option<(Kind, OwnedFd)> {
    let file = File::from(fd.ok()?);
    let meta = file.metadata().ok()?;
    if stderr == Some((meta.dev(), meta.ino())) {
        return None;
    }
    let kind = if meta.file_type().is_fifo() {
        Kind::Pipe
    } else if meta.file_type().is_socket() {
        Kind::Socket
    } else {
        return None;
    };
    Some((kind, file.into()))
}

/// Remembers a second duplicate, to restore blocking mode on drop.
fn keep(restore: &mut Restore, kind: Kind, fd: &OwnedFd) -> io::Result<()> {
    restore.0.push((kind, fd.try_clone()?));
    Ok(())
}

fn socket(fd: OwnedFd) -> io::Result<UnixStream> {
    let socket = std::os::unix::net::UnixStream::from(fd);
    socket.set_nonblocking(true)?;
    UnixStream::from_std(socket)
}

impl Drop for Restore {
    fn drop(&mut self) {
        for (kind, fd) in self.0.drain(..) {
            let _ = match kind {
                Kind::Socket => std::os::unix::net::UnixStream::from(fd).set_nonblocking(false),
                // Needs the runtime's reactor (`serve_stdio` drops this inside it).
                Kind::Pipe if tokio::runtime::Handle::try_current().is_ok() => {
                    pipe::Receiver::from_owned_fd_unchecked(fd)
                        .and_then(pipe::Receiver::into_blocking_fd)
                        .map(drop)
                }
                Kind::Pipe => Ok(()),
            };
        }
    }
}

impl AsyncRead for Input {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Input::Pipe(r) => Pin::new(r).poll_read(cx, buf),
            Input::Socket(s) => Pin::new(s).poll_read(cx, buf),
            Input::Std(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Output::Pipe(w) => Pin::new(w).poll_write(cx, buf),
            Output::Socket(s) => Pin::new(s).poll_write(cx, buf),
            Output::Std(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Output::Pipe(w) => Pin::new(w).poll_flush(cx),
            Output::Socket(s) => Pin::new(s).poll_flush(cx),
            Output::Std(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Output::Pipe(w) => Pin::new(w).poll_shutdown(cx),
            Output::Socket(s) => Pin::new(s).poll_shutdown(cx),
            Output::Std(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
