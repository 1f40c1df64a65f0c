package io.github.tfl1l2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongFunction;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/**
 * A small seeded generator for property tests.
 *
 * <p>Every case is drawn from its own seed, so any failing case reruns alone. Each case's test name
 * shows its seed and its description; run one case with {@code -Dl1l2.case=SEED}, change the base
 * seed with {@code -Dl1l2.seed=N} and the number of cases with {@code -Dl1l2.cases=N}.
 */
final class Cases {
  private Cases() {}

  /** The four floating dtypes, with the range of decimal exponents a stored value may take. */
  enum DType {
    FLOAT16(TFloat16.class, -7.0, Math.log10(65504)),
    BFLOAT16(TBfloat16.class, -37.0, 38.0),
    FLOAT32(TFloat32.class, -37.0, 38.0),
    FLOAT64(TFloat64.class, -300.0, 300.0);

    final Class<?> type;
    final double minExponent;
    final double maxExponent;

    DType(Class<?> type, double minExponent, double maxExponent) {
      this.type = type;
      this.minExponent = minExponent;
      this.maxExponent = maxExponent;
    }

    /** Whether this dtype's partial sums run in float32 (half types are widened to it). */
    boolean accumulatesInFloat32() {
      return this != FLOAT64;
    }

    /** Rounds {@code v} down in magnitude to a value this dtype stores exactly. */
    double representable(double v) {
      return switch (this) {
        case FLOAT64 -> v;
        case FLOAT32 -> (float) v;
        case BFLOAT16 -> Float.intBitsToFloat(Float.floatToRawIntBits((float) v) & 0xFFFF0000);
        case FLOAT16 -> {
          double a = Math.abs(v);
          if (a < 0x1p-14) { // float16 subnormals: multiples of 2^-24
            yield Math.copySign(Math.floor(a * 0x1p24) * 0x1p-24, v);
          }
          // normal float16: 10 mantissa bits, i.e. 13 fewer than float32
          yield Float.intBitsToFloat(Float.floatToRawIntBits((float) v) & 0xFFFFE000);
        }
      };
    }

    /** A tensor of this dtype holding {@code values} (each already representable). */
    Tensor tensor(double[] values, long[] shape) {
      Shape s = Shape.of(shape);
      if (this == FLOAT64) {
        return TFloat64.tensorOf(s, DataBuffers.of(values, true, false));
      }
      float[] f = new float[values.length];
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) values[i];
      }
      return switch (this) {
        case FLOAT32 -> TFloat32.tensorOf(s, DataBuffers.of(f, true, false));
        case FLOAT16 -> TFloat16.tensorOf(s, DataBuffers.of(f, true, false));
        default -> TBfloat16.tensorOf(s, DataBuffers.of(f, true, false));
      };
    }

    @Override
    public String toString() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** A seeded source of random draws for one case. */
  static final class Draw {
    final long seed;
    final SplittableRandom random;

    Draw(long seed) {
      this.seed = seed;
      this.random = new SplittableRandom(seed);
    }

    int between(int lo, int hi) {
      return lo + random.nextInt(hi - lo + 1);
    }

    double uniform(double lo, double hi) {
      return lo + random.nextDouble() * (hi - lo);
    }

    boolean chance(double p) {
      return random.nextDouble() < p;
    }

    <T> T oneOf(List<T> options) {
      return options.get(random.nextInt(options.size()));
    }

    /**
     * A shape of rank 0 to 5 with at most {@code maxElements} elements; one in ten non-scalar
     * shapes has a zero dimension (an empty tensor).
     */
    long[] shape(int maxElements) {
      int rank = between(0, 5);
      long[] shape = new long[rank];
      double budget = Math.pow(10, uniform(0, Math.log10(maxElements)));
      for (int i = 0; i < rank; i++) {
        int cap = (int) Math.max(1, Math.pow(budget, 1.0 / (rank - i)));
        shape[i] = between(1, cap);
        budget = Math.max(1, budget / shape[i]);
      }
      if (rank > 0 && chance(0.1)) {
        shape[random.nextInt(rank)] = 0;
      }
      return shape;
    }

    /**
     * {@code n} values representable in {@code dtype}, with random signs and magnitudes log-uniform
     * in {@code [10^lo, 10^hi]}.
     */
    double[] values(DType dtype, int n, double lo, double hi) {
      double[] values = new double[n];
      for (int i = 0; i < n; i++) {
        double magnitude = Math.pow(10, uniform(lo, hi));
        values[i] = dtype.representable(chance(0.5) ? magnitude : -magnitude);
      }
      return values;
    }
  }

  static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  static String describe(DType dtype, long[] shape) {
    return dtype + Arrays.toString(shape).replace(" ", "");
  }

  /** The seeds of this run: {@code -Dl1l2.case} alone, or {@code count} seeds from the base. */
  static LongStream seeds(String property, int defaultCount) {
    String only = System.getProperty("l1l2.case");
    if (only != null) {
      return LongStream.of(Long.decode(only));
    }
    long base = Long.getLong("l1l2.seed", 20_261_126L);
    int count = Integer.getInteger("l1l2.cases", defaultCount);
    SplittableRandom seeds = new SplittableRandom(base ^ property.hashCode());
    return LongStream.generate(seeds::nextLong).limit(count);
  }

  /**
   * One dynamic test per seed. {@code check} draws the case from the seed and asserts it; any
   * failure is rethrown with the seed and the command that reruns that case alone.
   */
  static Stream<DynamicTest> property(
      String property, int defaultCount, Class<?> testClass, LongFunction<Check> check) {
    List<DynamicTest> tests = new ArrayList<>();
    seeds(property, defaultCount)
        .forEach(
            seed -> {
              Check c = check.apply(seed);
              tests.add(
                  DynamicTest.dynamicTest(
                      "seed=" + seed + " " + c.description(),
                      () -> {
                        try {
                          c.run();
                        } catch (Throwable t) {
                          throw new AssertionError(
                              "property "
                                  + property
                                  + " failed for seed "
                                  + seed
                                  + " ("
                                  + c.description()
                                  + "); rerun with: mvn -B test -Dtest="
                                  + testClass.getSimpleName()
                                  + " -Dl1l2.case="
                                  + seed
                                  + "\n"
                                  + t,
                              t);
                        }
                      }));
            });
    return tests.stream();
  }

  /** A drawn case: its description (shown in the test name) and its assertions. */
  interface Check {
    String description();

    void run() throws Exception;

    static Check of(String description, Executable body) {
      return new Check() {
        @Override
        public String description() {
          return description;
        }

        @Override
        public void run() throws Exception {
          body.run();
        }
      };
    }
  }

  /** A case body that may throw. */
  interface Executable {
    void run() throws Exception;
  }
}
