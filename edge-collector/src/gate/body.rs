//! Reading a request's body with a cap: at most the cap plus one byte is read, whatever
//! `Content-Length` says or omits (a chunked body has none), so an over-long body costs the collector
//! no more than the cap before it is refused with 413.

use futures_util::StreamExt;
use worker::Request;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the cap.
    TooLong(TooLong),
    /// The runtime failed reading it.
    Runtime(worker::Error),
}

impl From<worker::Error> for BodyError {
    fn from(e: worker::Error) -> BodyError {
        BodyError::Runtime(e)
    }
}

/// The body, or [`BodyError::TooLong`] once it is known to be longer than `cap` bytes.
pub async fn read_capped(req: &mut Request, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|l| l.trim().parse::<u64>().ok());
    if declared.is_some_and(|size| size > cap as u64) {
        return Err(BodyError::TooLong(TooLong { declared }));
    }
    let mut body = Vec::with_capacity(declared.map_or(0, |d| d as usize));
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(body),
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLong(TooLong { declared }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A body over the cap.
#[derive(Clone, Copy, Debug)]
pub struct TooLong {
    /// What `Content-Length` said, when it said anything.
    pub declared: Option<u64>,
}
