//! Parallel gzip (pigz-style) as a [`Write`] adapter, following RFC 1952 (gzip) over RFC 1951 (deflate).
//!
//! The stream is cut into fixed blocks of [`BLOCK_SIZE`] bytes. Each block is compressed on a small pool of
//! threads as raw deflate primed with the previous block's last 32 KiB as dictionary, and ended with a
//! sync flush so that the compressed blocks concatenate into one deflate stream; the last block finishes
//! it. The gzip header is fixed (mtime 0, no name, OS 255) and every block is compressed the same way
//! whatever the number of threads, so the output bytes depend only on the input and the level.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// Uncompressed bytes per block.
pub const BLOCK_SIZE: usize = 1 << 20;
/// Deflate window: the dictionary handed from one block to the next.
const WINDOW: usize = 32 * 1024;
/// Fixed gzip header: magic, CM=deflate, FLG=0, MTIME=0, XFL=0, OS=255 (unknown).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

struct Job {
    data: Vec<u8>,
    dictionary: Vec<u8>,
    last: bool,
    level: u32,
    reply: SyncSender<io::Result<Vec<u8>>>,
}

/// A gzip writer compressing blocks in parallel; call [`ParallelGzWriter::finish`] to end the stream.
pub struct ParallelGzWriter<W: Write> {
    inner: Option<W>,
    level: u32,
    buffer: Vec<u8>,
    dictionary: Vec<u8>,
    crc: crc32fast::Hasher,
    size: u64,
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    pending: VecDeque<Receiver<io::Result<Vec<u8>>>>,
    max_pending: usize,
}

impl<W: Write> ParallelGzWriter<W> {
    /// A writer at level 6 using every available core.
    pub fn new(inner: W) -> io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_options(inner, 6, threads)
    }

    /// A writer at `level` (0–9) compressing on `threads` threads (at least one).
    pub fn with_options(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        inner.write_all(&HEADER)?;
        let threads = threads.max(1);
        let (tx, rx) = sync_channel::<Job>(threads);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || worker(&rx))
            })
            .collect();
        Ok(ParallelGzWriter {
            inner: Some(inner),
            level: level.min(9),
            buffer: Vec::with_capacity(BLOCK_SIZE),
            dictionary: Vec::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
            jobs: Some(tx),
            workers,
            pending: VecDeque::new(),
            max_pending: threads * 2,
        })
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(BLOCK_SIZE));
        let tail = data.len().saturating_sub(WINDOW);
        let next_dictionary = if data.len() >= WINDOW {
            data[tail..].to_vec()
        } else {
            let mut d = std::mem::take(&mut self.dictionary);
            d.extend_from_slice(&data);
            let cut = d.len().saturating_sub(WINDOW);
            d.drain(..cut);
            d
        };
        let dictionary = std::mem::replace(&mut self.dictionary, next_dictionary);
        let (reply, rx) = sync_channel(1);
        let job = Job {
            data,
            dictionary,
            last,
            level: self.level,
            reply,
        };
        self.jobs
            .as_ref()
            .expect("jobs open until finish")
            .send(job)
            .map_err(|_| io::Error::other("gzip worker threads stopped"))?;
        self.pending.push_back(rx);
        while self.pending.len() > self.max_pending {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(rx) = self.pending.pop_front() {
            let bytes = rx
                .recv()
                .map_err(|_| io::Error::other("a gzip worker thread died"))??;
            self.inner
                .as_mut()
                .expect("inner present until finish")
                .write_all(&bytes)?;
        }
        Ok(())
    }

    /// Compresses what is left, writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let crc = std::mem::take(&mut self.crc).finalize();
        let mut inner = self.inner.take().expect("inner present until finish");
        inner.write_all(&crc.to_le_bytes())?;
        inner.write_all(&(self.size as u32).to_le_bytes())?;
        inner.flush()?;
        Ok(inner)
    }
}

impl<W: Write> Write for ParallelGzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK_SIZE - self.buffer.len();
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        self.crc.update(&buf[..n]);
        self.size += n as u64;
        if self.buffer.len() == BLOCK_SIZE {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGzWriter<W> {
    fn drop(&mut self) {
        self.jobs.take();
        self.pending.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let out = compress_block(&job.data, &job.dictionary, job.last, job.level);
        let _ = job.reply.send(out);
    }
}

/// One block as raw deflate: primed with `dictionary`, ended by a sync flush or, for the last, the end.
fn compress_block(data: &[u8], dictionary: &[u8], last: bool, level: u32) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        c.set_dictionary(dictionary).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let done_in = c.total_in() as usize == data.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError if !last && done_in && room_left => break,
            Status::Ok | Status::BufError => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gzip(data: &[u8], threads: usize) -> Vec<u8> {
        let mut w = ParallelGzWriter::with_options(Vec::new(), 6, threads).unwrap();
        for chunk in data.chunks(100_003) {
            w.write_all(chunk).unwrap();
        }
        w.finish().unwrap()
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn pseudo_random(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn compressible(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| b"hello layer world "[(i / 3) % 18])
            .collect()
    }

    #[test]
    fn round_trips_every_size_as_one_member() {
        for n in [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1] {
            let data = compressible(n);
            assert_eq!(gunzip(&gzip(&data, 3)), data, "size {n}");
        }
        let random = pseudo_random(5 * BLOCK_SIZE);
        assert_eq!(gunzip(&gzip(&random, 3)), random);
        let text = compressible(5 * BLOCK_SIZE);
        let gz = gzip(&text, 3);
        assert!(gz.len() < text.len() / 20);
        assert_eq!(gunzip(&gz), text);
    }

    #[test]
    fn output_does_not_depend_on_thread_count() {
        let mut data = pseudo_random(2 * BLOCK_SIZE);
        data.extend(compressible(3 * BLOCK_SIZE + 7));
        assert_eq!(gzip(&data, 1), gzip(&data, 4));
    }

    #[test]
    fn gzip_tool_accepts_it() {
        let Ok(_) = std::process::Command::new("gzip").arg("--version").output() else {
            eprintln!("skipped: `gzip` is not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        std::fs::write(&path, gzip(&compressible(3 * BLOCK_SIZE + 5), 2)).unwrap();
        let status = std::process::Command::new("gzip")
            .arg("-t")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}
