//! A layer tap: sees a layer's uncompressed tar stream while the layer is written, and learns the
//! layer's digests when it is done. The architecture check reads layers this way as the executor
//! writes them — one pass, no second read of what was just written.

use super::Layer;

pub trait LayerTap: Send {
    /// The next bytes of the tar stream, in order. A tap that cannot keep up drops what it was doing.
    fn write(&mut self, tar: &[u8]);
    /// The layer is complete and has these digests.
    fn finish(self: Box<Self>, layer: &Layer);
}

/// Makes one tap per layer.
pub type TapFactory = std::sync::Arc<dyn Fn() -> Box<dyn LayerTap> + Send + Sync>;
