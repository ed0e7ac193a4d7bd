"""Long calls release the GIL: two threads compose at once."""
import threading
import time

import legato


def best_of(runs, f):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)  # the least disturbed by other work on the machine


def test_two_threads_compose_at_once(checkpoint):
    m = legato.load(checkpoint)
    length = 1000

    def one():  # about 0.1-0.2 s: long enough to time on a busy machine
        m.compose(length=length, seed=1, n=4)

    def two():
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    one()  # warm up
    # With the GIL held the two would take 2x one's time every time; on 2 cores, released, about
    # 1x. Up to three tries: other work on a shared machine can slow one measurement.
    for _ in range(3):
        alone = best_of(5, one)
        together = best_of(5, two)
        if together < 1.5 * alone:
            break
    assert alone > 0.05, "too short to time"
    assert together < 1.5 * alone, (alone, together)
    # the pieces of concurrent threads are the same as composed alone
    out = [None, None]

    def keep(k):
        out[k] = m.compose(length=200, seed=5)[0].tokens

    threads = [threading.Thread(target=keep, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (out[0] == out[1]).all() and (out[0] == m.compose(length=200, seed=5)[0].tokens).all()
