//! The seam between the driver and the bytes: any `AsyncRead + AsyncWrite` stream will do.
//!
//! Production opens a serial port with tokio-serial; tests and the demo open the simulator's pty
//! the same way, and unit tests can hand in an in-memory duplex stream. Opening goes through an
//! [`Opener`] because the driver must reopen the port after an unplug, possibly more than once.

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to a modem.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A boxed [`Transport`].
pub type BoxTransport = Box<dyn Transport>;

/// The future returned by [`Opener::open`].
pub type OpenFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxTransport>> + Send + 'a>>;

/// Opens (and reopens) the stream to a modem.
pub trait Opener: Send + Sync + 'static {
    /// Opens `port` at `baud`.
    fn open<'a>(&'a self, port: &'a str, baud: u32) -> OpenFuture<'a>;
}

/// Opens real serial ports (and ptys) with tokio-serial: 8N1, no flow control, exclusive access.
#[derive(Debug, Default, Clone, Copy)]
pub struct SerialOpener;

impl Opener for SerialOpener {
    fn open<'a>(&'a self, port: &'a str, baud: u32) -> OpenFuture<'a> {
        Box::pin(async move {
            use tokio_serial::SerialPortBuilderExt;
            let stream = tokio_serial::new(port, baud)
                .data_bits(tokio_serial::DataBits::Eight)
                .parity(tokio_serial::Parity::None)
                .stop_bits(tokio_serial::StopBits::One)
                .flow_control(tokio_serial::FlowControl::None)
                .open_native_async()
                .map_err(|e| {
                    // Keep "not found" recognisable: it means unplugged, not misconfigured.
                    let kind = match e.kind {
                        tokio_serial::ErrorKind::NoDevice => io::ErrorKind::NotFound,
                        tokio_serial::ErrorKind::Io(kind) => kind,
                        _ => io::ErrorKind::Other,
                    };
                    io::Error::new(kind, format!("cannot open {port}: {e}"))
                })?;
            Ok(Box::new(stream) as BoxTransport)
        })
    }
}
