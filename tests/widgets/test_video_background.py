"""The video widgets' threads: newest-request-only rendering and map chunks near the play head."""

import threading
import time

import pytest

from xaikit.widgets._background import ChunkWorker, LatestOnly


class TestLatestOnly:
    def test_a_burst_while_busy_ends_with_the_last_request(self):
        done = []
        worker = LatestOnly(lambda request: (time.sleep(0.05), done.append(request)))
        for request in range(20):
            worker.submit(request)
            time.sleep(0.002)
        assert worker.wait(5.0)
        assert done[-1] == 19 and len(done) <= 4  # the ones it never reached were dropped
        worker.close()

    def test_errors_are_reported_and_the_thread_goes_on(self):
        errors, done = [], []

        def action(request):
            if request == "bad":
                raise RuntimeError("boom")
            done.append(request)

        worker = LatestOnly(action, on_error=errors.append)
        worker.submit("bad")
        assert worker.wait(5.0)
        worker.submit("good")
        assert worker.wait(5.0)
        assert [str(e) for e in errors] == ["boom"] and done == ["good"]
        worker.close()

    def test_close_stops_the_thread(self):
        worker = LatestOnly(lambda request: None)
        worker.close()
        assert worker.closed and not worker._thread.is_alive()
        worker.submit(1)  # ignored, no error
        assert worker.wait(1.0)


class FakeMaps:
    """Chunks of 4 frames; computing one takes ``delay`` seconds and is recorded."""

    def __init__(self, chunks=5, delay=0.0, stored=(), fail=()):
        self.batch_size, self.chunks, self.delay = 4, chunks, delay
        self.stored, self.fail, self.computed = set(stored), set(fail), []
        self.gate = threading.Event()
        self.gate.set()

    def has(self, frame):
        return frame // 4 in self.stored

    def compute(self, frames, progress=False):
        (frame,) = frames
        chunk = frame // 4
        self.gate.wait(10)
        time.sleep(self.delay)
        self.computed.append(chunk)
        if chunk in self.fail:
            raise ValueError(f"chunk {chunk} failed")
        self.stored.add(chunk)


class TestChunkWorker:
    def test_the_play_head_chunk_first_then_ahead_then_behind(self):
        maps = FakeMaps(chunks=5, stored={3})
        worker = ChunkWorker(maps, start=False)
        worker.focus(9)  # chunk 2
        assert worker.wait(10.0)
        assert maps.computed == [2, 4, 0, 1]  # 3 was on disk already
        worker.close()

    def test_ensure_waits_for_the_chunk_and_moves_the_focus(self):
        maps = FakeMaps(chunks=6)
        maps.gate.clear()
        ready = []
        worker = ChunkWorker(maps, on_ready=ready.append)
        time.sleep(0.05)  # the worker took chunk 0 and waits at the gate
        threading.Timer(0.1, maps.gate.set).start()
        worker.ensure(17)  # chunk 4: computed right after the chunk under way
        assert maps.computed[:2] == [0, 4] and worker.ready(17) and 4 in ready
        worker.close()

    def test_progress_counts_chunks_and_failures_are_kept(self):
        maps = FakeMaps(chunks=3, fail={1})
        errors = []
        worker = ChunkWorker(maps, on_error=lambda chunk, error: errors.append(chunk))
        seen = []
        assert worker.wait(10.0, progress=lambda done, total: seen.append((done, total)))
        assert seen[-1] == (3, 3) and errors == [1] and worker.finished
        assert isinstance(worker.error(5), ValueError) and worker.error(0) is None
        with pytest.raises(ValueError, match="chunk 1 failed"):
            worker.ensure(5)
        worker.close()

    def test_close_stops_after_the_chunk_under_way(self):
        maps = FakeMaps(chunks=50, delay=0.02)
        worker = ChunkWorker(maps)
        time.sleep(0.05)
        worker.close()
        assert not worker._thread.is_alive() and len(maps.computed) < 50
        with pytest.raises(RuntimeError, match="closed"):
            worker.ensure(199)


def test_frame_maps_run_the_model_once_per_chunk_across_threads(video, tiny_cnn, monkeypatch):
    from xaikit.explain import FrameMaps, frames

    calls = []
    original = FrameMaps._compute

    def slow(self, chunk, methods):
        calls.append(chunk)
        time.sleep(0.05)  # both threads are inside get() at once
        return original(self, chunk, methods)

    monkeypatch.setattr(FrameMaps, "_compute", slow)
    maps = frames(tiny_cnn, video, "gradcam", "features.3", batch_size=5)
    results = [None, None]

    def read(slot):
        results[slot] = maps.get(2 + slot, "gradcam", "features.3")

    threads = [threading.Thread(target=read, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == [0]  # the second thread waited and read the stored chunk
    assert all(result is not None and result.shape == (48, 64) for result in results)
