"""Tiny test videos whose frames carry their own number as a barcode.

Each frame is 96x64 and shows BARS thick vertical bars, the binary digits of the frame number
(most significant first, white = 1). Twelve-pixel-wide bars survive lossy compression, so a
decoded frame tells its own number without trusting any timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

WIDTH, HEIGHT, BARS = 96, 64, 8
BAR_WIDTH = WIDTH // BARS


def barcode_frame(number: int) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 RGB frame showing ``number`` as BARS black/white bars."""
    bits = [(number >> (BARS - 1 - bar)) & 1 for bar in range(BARS)]
    row = np.repeat(np.array(bits, np.uint8) * 255, BAR_WIDTH)
    frame = np.repeat(row[None, :, None], HEIGHT, axis=0).repeat(3, axis=2)
    # A small square moving down the left edge gives the encoder motion to predict.
    top = (3 * number) % (HEIGHT - 8)
    frame[top : top + 8, 2:10] = 128
    return frame


def read_barcode(frame: np.ndarray) -> int:
    """The number a decoded frame shows (reads the middle of each bar, below the square)."""
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    number = 0
    for bar in range(BARS):
        centre = frame[:, bar * BAR_WIDTH + 3 : (bar + 1) * BAR_WIDTH - 3].mean()
        number = (number << 1) | int(centre > 127)
    return number


@dataclass(frozen=True)
class Flavour:
    """How a test video is encoded."""

    name: str
    codec: str = "libx264"
    suffix: str = ".mp4"
    b_frames: int = 0
    variable_rate: bool = False  # drop every 7th timestamp slot, as a camera dropping frames
    start: int = 0  # pts of the first frame, in 1/30 s
    frames: int = 45
    gop: int = 10
    faststart: bool = False  # mp4/mov: the sample index before the data, so a cut file opens

    def pts(self) -> list[int]:
        slots, stamps = self.start, []
        for number in range(self.frames):
            stamps.append(slots)
            slots += 2 if self.variable_rate and number % 7 == 6 else 1
        return stamps


FLAVOURS = [
    Flavour("h264-cfr"),
    Flavour("h264-cfr-bframes", b_frames=3),
    Flavour("h264-vfr", variable_rate=True),
    Flavour("h264-vfr-bframes", b_frames=3, variable_rate=True),
    Flavour("h264-mkv-offset-vfr-bframes", suffix=".mkv", b_frames=2, variable_rate=True, start=15),
    Flavour("mpeg4-avi-bframes", codec="mpeg4", suffix=".avi", b_frames=2, start=3),
]

# One flavour per container and codec family with B-frames where the codec has them and a
# variable rate where the container stores one (AVI stamps count packets: a dropped slot is a
# gap in them). VP8 and VP9 have no B-frames (they never reorder frames).
CONTAINERS = [
    Flavour("h264-avi-bframes", suffix=".avi", b_frames=3, frames=40),
    Flavour("h264-avi-vfr-bframes", suffix=".avi", b_frames=3, variable_rate=True, frames=40),
    Flavour(
        "mpeg4-avi-vfr-bframes",
        codec="mpeg4",
        suffix=".avi",
        b_frames=2,
        frames=40,
        variable_rate=True,
    ),
    Flavour("h264-mkv-vfr-bframes", suffix=".mkv", b_frames=3, variable_rate=True, frames=40),
    Flavour("mpeg4-mkv-bframes", codec="mpeg4", suffix=".mkv", b_frames=2, frames=40),
    Flavour("h264-mov-vfr-bframes", suffix=".mov", b_frames=3, variable_rate=True, frames=40),
    Flavour("mpeg4-mp4-bframes", codec="mpeg4", suffix=".mp4", b_frames=2, frames=40),
    Flavour("h264-mp4-faststart-bframes", b_frames=3, frames=40, faststart=True),
    Flavour("vp8-webm-vfr", codec="libvpx", suffix=".webm", variable_rate=True, frames=40),
    Flavour("vp9-webm-vfr", codec="libvpx-vp9", suffix=".webm", variable_rate=True, frames=40),
]


def write_barcode_video(path, flavour: Flavour) -> None:
    """Encode ``flavour.frames`` barcode frames with PyAV directly, setting every pts by hand."""
    import av

    time_base = Fraction(1, 30)
    container_options = {"movflags": "faststart"} if flavour.faststart else {}
    with av.open(str(path), "w", options=container_options) as container:
        stream = container.add_stream(flavour.codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = time_base
        options = {"g": str(flavour.gop)}
        if flavour.codec in ("libx264", "mpeg4"):
            options["bf"] = str(flavour.b_frames)
        if flavour.codec == "libx264":
            options.update(crf="12", keyint_min=str(flavour.gop), scenecut="0")
        else:
            stream.bit_rate = 2_000_000
        stream.options = options
        for number, pts in enumerate(flavour.pts()):
            frame = av.VideoFrame.from_ndarray(barcode_frame(number), format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def sequential_decode(path) -> list[np.ndarray]:
    """The reference: every frame of PyAV's plain sequential decode of the first video stream,
    packet by packet; a packet the decoder rejects gives no frame (as in the ffmpeg tool)."""
    import av

    frames = []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            frames.extend(frame.to_ndarray(format="rgb24") for frame in decoded)
    return frames


def truncate(path, keep: float) -> None:
    """Cut the tail of the file at ``path``, keeping the first ``keep`` fraction of its bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
