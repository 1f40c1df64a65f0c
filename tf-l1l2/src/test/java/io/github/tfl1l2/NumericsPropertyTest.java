package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.Cases.DType;
import io.github.tfl1l2.Cases.Draw;
import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.Operand;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * Property-based numerics: random shapes (scalars, empty tensors, up to rank 5), dtypes, mixed
 * lists and magnitudes from 1e-30 to 1e30 (as far as each dtype and the accumulator allow), each
 * checked against a double-precision sum of the stored values computed here.
 */
class NumericsPropertyTest {

  /** Relative error bound where any partial sum runs in float32. */
  static final double FLOAT32_BOUND = 1e-6;

  /** Relative error bound for float64 weights summed and returned in float64. */
  static final double FLOAT64_BOUND = 1e-10;

  /** One drawn parameter: its name, dtype, shape and stored values. */
  record Param(String name, DType dtype, long[] shape, double[] values) {
    @Override
    public String toString() {
      return name + ":" + Cases.describe(dtype, shape);
    }

    Operand<?> constant(Ops tf) {
      try (Tensor t = dtype.tensor(values, shape)) {
        return weights(tf, t);
      }
    }
  }

  /**
   * {@code values} as the penalty sees weights: in a graph a variable initialized to them (a
   * constant would let Grappler fold the whole penalty before XLA or the kernels run), in eager
   * mode a constant.
   */
  static Operand<?> weights(Ops tf, Tensor values) {
    Operand<TType> init = tf.withInitScope().constantOf((TType) values);
    return tf.scope().env().isGraph() ? tf.variable(init) : init;
  }

  /** One drawn penalty: mode, coefficients, reduction, result dtype, band and parameters. */
  record PenaltyCase(
      Modes mode,
      double l1,
      double l2,
      double weight,
      Reduction reduction,
      DType result,
      double lo,
      double hi,
      List<Param> params) {

    L1L2 config() {
      return mode.apply(L1L2.builder().l1(l1).l2(l2).weight(weight).reduction(reduction).build());
    }

    Map<String, Operand<?>> operands(Ops tf) {
      Map<String, Operand<?>> named = new LinkedHashMap<>();
      for (Param p : params) {
        named.put(p.name(), p.constant(tf));
      }
      return named;
    }

    @SuppressWarnings("unchecked")
    double[] run() {
      Class<? extends TFloating> type = (Class<? extends TFloating>) result.type;
      return mode.evaluate(tf -> config().penalty(tf, operands(tf), type));
    }

    /** The reference penalty of each parameter, in double precision. */
    double[] expected() {
      double[] out = new double[params.size()];
      for (int i = 0; i < out.length; i++) {
        double abs = 0;
        double squares = 0;
        for (double v : params.get(i).values()) {
          abs += Math.abs(v);
          squares += v * v;
        }
        out[i] = weight * l1 * abs + weight * l2 * squares;
      }
      return out;
    }

    double bound() {
      boolean float64Only =
          result == DType.FLOAT64 && params.stream().allMatch(p -> p.dtype() == DType.FLOAT64);
      return float64Only ? FLOAT64_BOUND : FLOAT32_BOUND;
    }

    @Override
    public String toString() {
      return String.format(
          "%s l1=%.3g l2=%.3g weight=%.3g %s ->%s |w| in [1e%.1f, 1e%.1f] %s",
          mode, l1, l2, weight, reduction, result, lo, hi, params);
    }
  }

  /**
   * Draws a case whose values, squares and sums stay inside the range of every dtype involved:
   * float32 accumulators (half types, float32, and a float32 result) cap squared magnitudes at 1e15
   * and lift them to at least 1e-14 (squares below 1e-38 are float32 subnormals).
   */
  static PenaltyCase drawPenaltyCase(long seed) {
    Draw d = new Draw(seed);
    Modes mode = d.oneOf(Modes.ALL);
    int terms = d.between(1, 3); // 1: L1 only, 2: L2 only, 3: both
    double l1 = (terms & 1) != 0 ? Math.pow(10, d.uniform(-3, 1)) : 0;
    double l2 = (terms & 2) != 0 ? Math.pow(10, d.uniform(-3, 1)) : 0;
    double weight = Math.pow(10, d.uniform(-1, 1));
    Reduction reduction = d.chance(0.2) ? Reduction.NONE : Reduction.SUM;
    DType result = d.chance(0.5) ? DType.FLOAT64 : DType.FLOAT32;
    int count = d.between(1, 6);
    DType shared = d.chance(0.3) ? d.oneOf(List.of(DType.values())) : null;
    List<DType> dtypes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      dtypes.add(shared != null ? shared : d.oneOf(List.of(DType.values())));
    }
    double minHi = -26;
    double maxHi = 30;
    for (DType t : dtypes) {
      minHi = Math.max(minHi, t.minExponent + 4);
      maxHi = Math.min(maxHi, t.maxExponent);
      if (l2 > 0 && (t.accumulatesInFloat32() || result == DType.FLOAT32)) {
        minHi = Math.max(minHi, -14);
        maxHi = Math.min(maxHi, 15);
      }
    }
    double hi = d.uniform(minHi, maxHi);
    double lo = hi - 4;
    List<Param> params = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long[] shape = d.shape(20_000);
      double[] values = d.values(dtypes.get(i), (int) Cases.elements(shape), lo, hi);
      params.add(new Param("p" + i, dtypes.get(i), shape, values));
    }
    return new PenaltyCase(mode, l1, l2, weight, reduction, result, lo, hi, params);
  }

  @TestFactory
  Stream<DynamicTest> penaltyMatchesTheDoubleReferenceForRandomShapesDtypesAndMagnitudes() {
    return Cases.property(
        "penalty-vs-reference",
        60,
        getClass(),
        seed -> {
          PenaltyCase c = drawPenaltyCase(seed);
          return Cases.Check.of(c.toString(), () -> assertMatchesReference(c));
        });
  }

  private static void assertMatchesReference(PenaltyCase c) {
    double[] perParam = c.expected();
    double[] actual = c.run();
    double[] expected =
        c.reduction() == Reduction.NONE ? perParam : new double[] {Arrays.stream(perParam).sum()};
    assertEquals(expected.length, actual.length, "number of values");
    for (int i = 0; i < expected.length; i++) {
      double error = References.relativeError(actual[i], expected[i]);
      assertTrue(
          error <= c.bound(),
          "value "
              + i
              + ": "
              + actual[i]
              + " vs reference "
              + expected[i]
              + ", relative error "
              + error
              + " > "
              + c.bound());
    }
  }

  /** A case with one NaN or infinity planted in one parameter. */
  record PoisonedCase(PenaltyCase base, int poisoned, int index, double bad) {
    @Override
    public String toString() {
      return base.mode()
          + " "
          + bad
          + " at "
          + base.params().get(poisoned)
          + "["
          + index
          + "] of "
          + base.params()
          + " l1="
          + base.l1()
          + " l2="
          + base.l2();
    }
  }

  static PoisonedCase drawPoisonedCase(long seed) {
    PenaltyCase base = drawPenaltyCase(seed);
    Draw d = new Draw(~seed);
    List<Param> params = new ArrayList<>(base.params());
    int poisoned = d.between(0, params.size() - 1);
    Param p = params.get(poisoned);
    long[] shape = p.shape().length == 0 ? p.shape() : p.shape().clone();
    for (int i = 0; i < shape.length; i++) {
      shape[i] = Math.max(1, shape[i]); // never empty: it must hold the bad value
    }
    double[] values = d.values(p.dtype(), (int) Cases.elements(shape), base.lo(), base.hi());
    int index = d.between(0, values.length - 1);
    double bad = d.oneOf(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
    values[index] = bad;
    params.set(poisoned, new Param(p.name(), p.dtype(), shape, values));
    PenaltyCase c =
        new PenaltyCase(
            base.mode(),
            base.l1(),
            base.l2(),
            base.weight(),
            Reduction.SUM,
            base.result(),
            base.lo(),
            base.hi(),
            params);
    return new PoisonedCase(c, poisoned, index, bad);
  }

  @TestFactory
  Stream<DynamicTest> nanOrInfinityInAnyParameterPropagatesToThePenalty() {
    return Cases.property(
        "nan-inf-propagate",
        24,
        getClass(),
        seed -> {
          PoisonedCase c = drawPoisonedCase(seed);
          return Cases.Check.of(
              c.toString(),
              () -> {
                double value = c.base().run()[0];
                if (Double.isNaN(c.bad())) {
                  assertTrue(Double.isNaN(value), "expected NaN, was " + value);
                } else {
                  assertEquals(Double.POSITIVE_INFINITY, value); // |±inf| and (±inf)^2 are +inf
                }
              });
        });
  }

  @TestFactory
  Stream<DynamicTest> checkNumericsFailsNamingThePoisonedParameter() {
    return Cases.property(
        "check-numerics-names",
        16,
        getClass(),
        seed -> {
          PoisonedCase c = drawPoisonedCase(seed);
          return Cases.Check.of(
              c.toString(),
              () -> {
                PenaltyCase base = c.base();
                L1L2 checked = base.config().toBuilder().checkNumerics(true).build();
                TFInvalidArgumentException e =
                    assertThrows(
                        TFInvalidArgumentException.class,
                        () -> base.mode().evaluate(tf -> checked.penalty(tf, base.operands(tf))));
                String name = base.params().get(c.poisoned()).name();
                assertTrue(e.getMessage().contains("\"" + name + "\""), e.getMessage());
                for (Param other : base.params()) {
                  if (!other.name().equals(name)) {
                    assertTrue(
                        !e.getMessage().contains("\"" + other.name() + "\""), e.getMessage());
                  }
                }
              });
        });
  }

  static Stream<Arguments> modesAndDistributions() {
    List<Arguments> out = new ArrayList<>();
    for (Modes m : Modes.ALL) {
      out.add(Arguments.of(m, "uniform [1, 2)"));
      out.add(Arguments.of(m, "gaussian"));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("modesAndDistributions")
  void float32SumOfOneMillionElementsIsWithinOneMillionthOfTheReference(
      Modes mode, String distribution) {
    int n = 1_000_000;
    java.util.Random random = new java.util.Random(n);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] =
          distribution.startsWith("uniform")
              ? 1f + random.nextFloat()
              : (float) random.nextGaussian();
    }
    L1L2 l1 = mode.apply(L1L2.of(1, 0));
    L1L2 l2 = mode.apply(L1L2.of(0, 1));
    double absSum = mode.evaluate(tf -> l1.penalty(tf, List.of(weights(tf, w))))[0];
    double squareSum = mode.evaluate(tf -> l2.penalty(tf, List.of(weights(tf, w))))[0];
    double e1 = References.relativeError(absSum, References.l1Sum(w));
    double e2 = References.relativeError(squareSum, References.l2Sum(w));
    System.out.printf(
        "1M float32 %s %s: relative error L1 %.3g, L2 %.3g%n", mode, distribution, e1, e2);
    assertTrue(e1 <= FLOAT32_BOUND, "L1 relative error " + e1);
    assertTrue(e2 <= FLOAT32_BOUND, "L2 relative error " + e2);
  }

  @ParameterizedTest
  @EnumSource(Modes.class)
  void float16WeightsNearTheLargestHalfDoNotOverflowTheirSquares(Modes mode) {
    double[] w = new double[1000];
    for (int i = 0; i < w.length; i++) {
      w[i] = DType.FLOAT16.representable(i % 2 == 0 ? 65504 : -60000);
    }
    assertEquals(65504, w[0]); // the largest float16, stored exactly
    Param p = new Param("big", DType.FLOAT16, new long[] {10, 100}, w);
    double expected = 0.5 * Arrays.stream(w).map(v -> v * v).sum(); // ~2e12, far past 65504
    double actual = penaltyOf(mode, L1L2.of(0, 0.5), p, TFloat32.class);
    assertTrue(Double.isFinite(actual), "penalty overflowed: " + actual);
    assertTrue(
        References.relativeError(actual, expected) <= FLOAT32_BOUND, actual + " vs " + expected);
  }

  static Stream<Arguments> halfTypesAndModes() {
    List<Arguments> out = new ArrayList<>();
    for (Modes m : Modes.ALL) {
      out.add(Arguments.of(DType.FLOAT16, m));
      out.add(Arguments.of(DType.BFLOAT16, m));
    }
    return out.stream();
  }

  /**
   * 100 000 ones: summed in their own precision they give Infinity (float16 ends at 65504) and 99
   * 840 (bfloat16 keeps 8 significant bits), so only a wider accumulator reaches 100 000.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("halfTypesAndModes")
  void halfPrecisionWeightsAreNotAccumulatedInHalfPrecision(DType dtype, Modes mode) {
    double[] ones = new double[100_000];
    Arrays.fill(ones, 1.0);
    Param p = new Param("ones", dtype, new long[] {ones.length}, ones);
    double l1 = penaltyOf(mode, L1L2.of(1, 0), p, TFloat32.class);
    double l2 = penaltyOf(mode, L1L2.of(0, 1), p, TFloat32.class);
    assertTrue(References.relativeError(l1, 100_000) <= FLOAT32_BOUND, "L1 " + l1);
    assertTrue(References.relativeError(l2, 100_000) <= FLOAT32_BOUND, "L2 " + l2);
  }

  static Stream<Arguments> extremeMagnitudes() {
    List<Arguments> out = new ArrayList<>();
    for (Modes m : Modes.ALL) {
      for (DType t : List.of(DType.BFLOAT16, DType.FLOAT32, DType.FLOAT64)) {
        out.add(Arguments.of(t, 1e-30, m));
        out.add(Arguments.of(t, 1e30, m));
      }
    }
    return out.stream();
  }

  /** The ends of the magnitude range, 1e-30 and 1e30, summed exactly enough by every mode. */
  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("extremeMagnitudes")
  void weightsAtTheEndsOfTheMagnitudeRangeKeepTheirL1Sum(DType dtype, double magnitude, Modes m) {
    double exponent = Math.log10(magnitude);
    double[] w = new Draw(7).values(dtype, 4096, exponent - 1, exponent);
    Param p = new Param("w", dtype, new long[] {64, 64}, w);
    double expected = 0.5 * Arrays.stream(w).map(Math::abs).sum();
    double actual = penaltyOf(m, L1L2.of(0.5, 0), p, TFloat32.class);
    assertTrue(
        References.relativeError(actual, expected) <= FLOAT32_BOUND, actual + " vs " + expected);
  }

  @ParameterizedTest
  @EnumSource(Modes.class)
  void float64SquaresOfTheExtremeMagnitudesStayExactInAFloat64Result(Modes m) {
    double[] w = new double[] {1e30, -3e30, 1e-30, -2e-30};
    Param p = new Param("w", DType.FLOAT64, new long[] {2, 2}, w);
    double actual = penaltyOf(m, L1L2.of(0, 1), p, TFloat64.class);
    double expected = 1e60 + 9e60 + 1e-60 + 4e-60;
    assertTrue(
        References.relativeError(actual, expected) <= FLOAT64_BOUND, actual + " vs " + expected);
  }

  /** The scalar penalty of {@code config} (in {@code mode}) over the one parameter {@code p}. */
  private static double penaltyOf(
      Modes mode, L1L2 config, Param p, Class<? extends TFloating> type) {
    return mode.evaluate(tf -> mode.apply(config).penalty(tf, List.of(p.constant(tf)), type))[0];
  }

  private static Operand<?> weights(Ops tf, float[] values) {
    try (TFloat32 t = Fixtures.tensor(values, values.length)) {
      return weights(tf, t);
    }
  }
}
