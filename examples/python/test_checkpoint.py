"""The ctypes module (checkpoint.py) and the example (resume_lines.py) on the
library of the build: CHECKPOINT_LIBRARY names it (ctest sets it)."""

import contextlib
import io
import os
import tempfile
import threading
import unittest

import checkpoint
import resume_lines

UINT64_MAX = 2**64 - 1
MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_round_trip(self):
        path = self.path("new/dir/.winlogbeat.yml")
        with checkpoint.Checkpoint(path) as cp:
            cp.persist("Application", UINT64_MAX, (1512486962, 672130300))
            cp.persist("Σύστημα", 0, (MIN_SECONDS, 0), bookmark="<b id='1'/>\r\n")
            self.assertEqual(cp.get("Application"),
                             checkpoint.State("Application", UINT64_MAX, (1512486962, 672130300)))
            self.assertIsNone(cp.get("absent"))
            self.assertEqual(cp.stats()["pending"], 2)
        update_time, states = checkpoint.load(path)
        self.assertGreater(update_time[0], 1700000000)
        self.assertEqual(states, [
            checkpoint.State("Application", UINT64_MAX, (1512486962, 672130300), ""),
            checkpoint.State("Σύστημα", 0, (MIN_SECONDS, 0), "<b id='1'/>\r\n"),
        ])

    def test_errors(self):
        path = self.path("state.db")
        with checkpoint.Checkpoint(path) as cp:
            with self.assertRaises(checkpoint.CheckpointError) as e:
                checkpoint.Checkpoint(path)
            self.assertEqual(e.exception.code, "locked")
            self.assertIn(path, str(e.exception))
            with self.assertRaises(checkpoint.CheckpointError) as e:
                cp.persist(b"\xff\xfe", 1, 0)
            self.assertEqual(e.exception.code, "invalid_argument")
            self.assertIn("not valid UTF-8", str(e.exception))
            with self.assertRaises(checkpoint.CheckpointError) as e:
                cp.persist("a", 1, (0, 10**9))
            self.assertEqual(e.exception.code, "invalid_argument")
            self.assertEqual(cp.states(), [])
        with self.assertRaises(checkpoint.CheckpointError) as e:
            cp.persist("a", 1, 0)  # closed
        self.assertIn("the handle is NULL", str(e.exception))
        with self.assertRaises(checkpoint.CheckpointError) as e:
            checkpoint.load(self.path("missing.yml"))
        self.assertEqual(e.exception.code, "not_found")
        with self.assertRaises(checkpoint.CheckpointError) as e:
            checkpoint.Checkpoint("nosuch:x")
        self.assertEqual(e.exception.code, "invalid_config")

    def test_messages_per_thread(self):
        with checkpoint.Checkpoint(self.path("state.yml")) as cp:
            seen = {}

            def fail(name):
                try:
                    cp.remove(name)
                except checkpoint.CheckpointError as e:
                    seen[name] = str(e)

            threads = [threading.Thread(target=fail, args=(b"", )),
                       threading.Thread(target=fail, args=(b"\xc0\xaf", ))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertIn("empty", seen[b""])
            self.assertIn("not valid UTF-8", seen[b"\xc0\xaf"])

    def test_convert_and_backends(self):
        src, dst = self.path("state.yml"), "sqlite:" + self.path("state.db")
        with checkpoint.Checkpoint(src) as cp:
            cp.persist("a", 1, (1512486962, 5), "mark")
        checkpoint.convert(src, dst)
        self.assertEqual(checkpoint.load(dst), checkpoint.load(src))
        with self.assertRaises(checkpoint.CheckpointError):
            checkpoint.convert(src, dst)
        checkpoint.convert(src, dst, replace=True)
        backends = checkpoint.backends()
        self.assertIn(".yml", backends["yaml"]["extensions"])
        self.assertIn("memory", backends)
        self.assertRegex(checkpoint.version(), r"^\d+\.\d+\.\d+$")

    def test_example_resumes(self):
        log, store = self.path("app.log"), self.path("state.yml")
        with open(log, "w") as f:
            f.write("one\ntwo\n")

        def run():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(resume_lines.main(["resume_lines.py", store, log]), 0)
            return out.getvalue()

        self.assertEqual(run(), f"{log}:1: one\n{log}:2: two\n")
        with open(log, "a") as f:
            f.write("three\n")
        self.assertEqual(run(), f"{log}:3: three\n")
        self.assertEqual(run(), "")


if __name__ == "__main__":
    unittest.main()
