package io.github.tfl1l2.bench;

import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures the machine's memory-read bandwidth the way the penalty uses memory: one read of a
 * large {@code float[]}, summed by every thread over its own slice. Eight independent
 * accumulators per thread keep the loop limited by memory rather than by the latency of one
 * floating-point add chain.
 */
final class Bandwidth {
  private Bandwidth() {}

  /** Median bytes per second of {@code reps} passes over {@code bytes} bytes with {@code threads}. */
  static double measure(long bytes, int threads, int reps) throws Exception {
    float[] data = new float[(int) (bytes / Float.BYTES)];
    for (int i = 0; i < data.length; i++) {
      data[i] = (i & 1023) * 1e-3f;
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      double[] seconds = new double[reps];
      double sink = 0;
      for (int warm = 0; warm < 5; warm++) {
        sink += pass(pool, data, threads);
      }
      for (int r = 0; r < reps; r++) {
        long start = System.nanoTime();
        sink += pass(pool, data, threads);
        seconds[r] = (System.nanoTime() - start) / 1e9;
      }
      if (sink == 42.0) {
        System.out.print("");
      }
      Arrays.sort(seconds);
      return data.length * (double) Float.BYTES / seconds[reps / 2];
    } finally {
      pool.shutdownNow();
    }
  }

  private static double pass(ExecutorService pool, float[] data, int threads) throws Exception {
    @SuppressWarnings("unchecked")
    Future<Double>[] parts = (Future<Double>[]) new Future<?>[threads];
    int slice = data.length / threads;
    for (int t = 0; t < threads; t++) {
      int from = t * slice;
      int to = t == threads - 1 ? data.length : from + slice;
      parts[t] = pool.submit(() -> sumBlocks(data, from, to));
    }
    double total = 0;
    for (Future<Double> part : parts) {
      total += part.get();
    }
    return total;
  }

  /** Sums in blocks so that the JIT compiles {@link #sum} fully after the first few blocks. */
  private static double sumBlocks(float[] data, int from, int to) {
    double total = 0;
    for (int start = from; start < to; start += BLOCK) {
      total += sum(data, start, Math.min(to, start + BLOCK));
    }
    return total;
  }

  private static final int BLOCK = 1 << 16;

  private static double sum(float[] data, int from, int to) {
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    int i = from;
    for (; i + 8 <= to; i += 8) {
      a0 += data[i];
      a1 += data[i + 1];
      a2 += data[i + 2];
      a3 += data[i + 3];
      a4 += data[i + 4];
      a5 += data[i + 5];
      a6 += data[i + 6];
      a7 += data[i + 7];
    }
    for (; i < to; i++) {
      a0 += data[i];
    }
    return (double) a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  }
}
