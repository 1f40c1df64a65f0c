package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.testing.References;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.IdentityN;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * The penalty's gradient, as {@code Graph.addGradients} builds it: {@code upstream · weight ·
 * (l1·sign(w) + 2·l2·w)} per parameter, from one fused computation per weight, checked against a
 * double-precision reference.
 */
class PenaltyGradientTest {
  private static final double L1 = 0.03;
  private static final double L2 = 0.2;
  private static final double WEIGHT = 1.5;

  private static double expected(double w) {
    return WEIGHT * References.penaltyGradient(w, L1, L2);
  }

  private static L1L2.Builder reg() {
    return L1L2.builder().l1(L1).l2(L2).weight(WEIGHT);
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {true, false})
  void noGradientOfAnyForwardPenaltyOpIsBuilt(boolean xla) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> variables = new ArrayList<>();
      for (long size : new long[] {12, 70_001, 1 << 17}) {
        variables.add(
            tf.variable(tf.withInitScope().zeros(tf.constant(new long[] {size}), TFloat32.class)));
      }
      Operand<TFloat32> loss = reg().xla(xla).build().addTo(tf, tf.constant(0f), variables);
      Set<String> before = names(g);
      new GradientDescent(g, 0.1f).minimize(loss);
      int built = 0;
      for (GraphOperation op : operations(g)) {
        if (before.contains(op.name()) || !op.name().contains("l1_l2/")) {
          continue;
        }
        // TensorFlow names a gradient op after the forward op whose gradient function made it;
        // only the surrogate's may appear, never Abs, Square, Sum, Reshape, Concat, ...
        assertTrue(
            op.name().contains("l1_l2/gradient_surrogate"),
            "gradient op of a forward penalty op: " + op.name() + " (" + op.type() + ")");
        if (List.of("Sign", "Mul", "Add", "Cast").contains(op.type())) {
          built++;
          assertEquals(xla, isMarked(op), "XLA mark of " + op.name());
        }
      }
      assertTrue(built >= 3 * 3, "one Sign, Mul, Mul and Add per weight expected, found " + built);
    }
  }

  @Test
  void upTo64WeightsShareOneClusterAndNoTwoPenaltiesShareOne() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> variables = new ArrayList<>();
      for (int i = 0; i < 65; i++) {
        long size = i == 0 ? 70_001 : 4;
        variables.add(
            tf.variable(tf.withInitScope().zeros(tf.constant(new long[] {size}), TFloat32.class)));
      }
      Operand<TFloat32> first = reg().build().addTo(tf, tf.constant(0f), variables);
      Operand<TFloat32> second = reg().build().addTo(tf, tf.constant(0f), variables.subList(0, 3));
      Set<String> before = names(g);
      new GradientDescent(g, 0.1f).minimize(first);
      g.addGradients(
          second.asOutput(),
          variables.subList(0, 3).stream().map(Operand::asOutput).toArray(Output<?>[]::new));
      Set<String> signClusters = new HashSet<>();
      int signs = 0;
      for (GraphOperation op : operations(g)) {
        if (!before.contains(op.name()) && op.type().equals("Sign")) {
          signs++;
          signClusters.add(op.attributes().getAttrString(XlaScope.XLA_SCOPE_ATTR));
        }
      }
      assertEquals(65 + 3, signs);
      assertEquals(
          2 + 1, signClusters.size(), "64 + 1 weights of the first penalty, 3 of the second");
    }
  }

  @Test
  void manyParametersAreSplitOverSurrogatesOf64ReadsAndEachGetsItsGradient() {
    int count = 2 * GradientSurrogate.SURROGATE_INPUTS + 2;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> variables = new ArrayList<>();
      List<float[]> inits = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        float[] init = Fixtures.randomWeights(100 + i, 3, 1.0);
        inits.add(init);
        variables.add(tf.variable(tf.withInitScope().constant(Fixtures.tensor(init, 3))));
      }
      Operand<TFloat32> loss = reg().build().addTo(tf, tf.constant(0f), variables);
      long surrogates =
          operations(g).stream()
              .filter(op -> op.type().equals(GradientSurrogate.SURROGATE_TYPE))
              .count();
      assertEquals(3, surrogates, "64 + 64 + 2 reads");
      Output<?>[] grads =
          g.addGradients(
              loss.asOutput(), variables.stream().map(Operand::asOutput).toArray(Output<?>[]::new));
      try (Session s = new Session(g)) {
        for (int i = 0; i < count; i++) {
          float[] grad = Fixtures.fetchFloats(s, grads[i]);
          for (int j = 0; j < grad.length; j++) {
            double reference = expected(inits.get(i)[j]);
            assertEquals(reference, grad[j], 1e-6 * Math.abs(reference), "w" + i + "[" + j + "]");
          }
        }
        assertEquals(
            References.penalty(L1, L2, WEIGHT, inits.toArray(new float[0][])),
            Fixtures.fetchScalar(s, loss),
            1e-5,
            "the value passes through every surrogate unchanged");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(classes = {TFloat16.class, TBfloat16.class, TFloat64.class})
  <T extends TFloating> void weightsGetGradientsInTheirOwnDtype(Class<T> type) {
    float[] init = Fixtures.randomWeights(3, 64, 2.0);
    init[5] = 0f;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<T> w =
          tf.withName("w")
              .variable(
                  tf.withInitScope()
                      .dtypes
                      .cast(tf.withInitScope().constant(Fixtures.tensor(init, 64)), type));
      Operand<TFloat32> loss = reg().build().addTo(tf, tf.constant(0f), List.of(w));
      Output<?>[] grads = g.addGradients(loss.asOutput(), new Output<?>[] {w.asOutput()});
      assertEquals(FloatingTypes.baseOf(w.asOutput().dataType()), grads[0].dataType());
      try (Session s = new Session(g)) {
        float[] stored = Fixtures.fetchFloats(s, w);
        float[] grad = Fixtures.fetchFloats(s, grads[0]);
        double relative =
            type == TFloat16.class ? 0x1p-10 : type == TBfloat16.class ? 0x1p-7 : 1e-7;
        for (int i = 0; i < grad.length; i++) {
          double reference = expected(stored[i]);
          assertEquals(
              reference, grad[i], relative * Math.abs(reference) + 1e-30, "grad[" + i + "]");
        }
      }
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {true, false})
  void aNanWeightGetsANanGradientAndOthersAreUntouched(boolean xla) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> w =
          tf.variable(tf.withInitScope().constant(new float[] {Float.NaN, 0f, -2f, 3f}));
      Operand<TFloat32> loss = reg().xla(xla).build().addTo(tf, tf.constant(0f), List.of(w));
      Output<?>[] grads = g.addGradients(loss.asOutput(), new Output<?>[] {w.asOutput()});
      try (Session s = new Session(g)) {
        float[] grad = Fixtures.fetchFloats(s, grads[0]);
        assertTrue(Float.isNaN(grad[0]), "NaN weight: " + grad[0]);
        assertEquals(0.0, grad[1], 0.0, "sign(0) = 0 and 2·l2·0 = 0");
        assertEquals(expected(-2), grad[2], 1e-6);
        assertEquals(expected(3), grad[3], 1e-6);
      }
    }
  }

  @Test
  void resourceVariableReadsGetTheFusedGradient() {
    float[] init = Fixtures.randomWeights(11, 40, 1.0);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> handle = tf.withName("kernel").varHandleOp(TFloat32.class, Shape.of(40));
      Operation assign =
          tf.withInitScope()
              .assignVariableOp(handle, tf.withInitScope().constant(Fixtures.tensor(init, 40)))
              .op();
      Operand<TFloat32> read =
          tf.withControlDependencyOps(List.of(assign)).readVariableOp(handle, TFloat32.class);
      Operand<TFloat32> loss = reg().build().addTo(tf, tf.constant(0f), List.of(read));
      Output<?>[] grads = g.addGradients(loss.asOutput(), new Output<?>[] {read.asOutput()});
      try (Session s = new Session(g)) {
        float[] grad = Fixtures.fetchFloats(s, grads[0]);
        for (int i = 0; i < init.length; i++) {
          assertEquals(
              expected(init[i]),
              grad[i],
              2 * Math.ulp((float) expected(init[i])),
              "grad[" + i + "]");
        }
      }
    }
  }

  @Test
  void perParameterPenaltiesGetEachTheirOwnUpstreamGradient() {
    float[] a = Fixtures.randomWeights(21, 10, 1.0);
    float[] b = Fixtures.randomWeights(22, 70_001, 1.0);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> va = tf.variable(tf.withInitScope().constant(Fixtures.tensor(a, 10)));
      Variable<TFloat32> vb = tf.variable(tf.withInitScope().constant(Fixtures.tensor(b, 70_001)));
      Operand<TFloat32> perParameter =
          reg().reduction(Reduction.NONE).build().penalty(tf, List.of(va, vb));
      // y = 3·penalty(a) − 0.5·penalty(b)
      Operand<TFloat32> y =
          tf.sum(tf.math.mul(perParameter, tf.constant(new float[] {3f, -0.5f})), tf.constant(0));
      Output<?>[] grads =
          g.addGradients(y.asOutput(), new Output<?>[] {va.asOutput(), vb.asOutput()});
      try (Session s = new Session(g)) {
        float[] ga = Fixtures.fetchFloats(s, grads[0]);
        float[] gb = Fixtures.fetchFloats(s, grads[1]);
        for (int i = 0; i < a.length; i++) {
          assertEquals(
              3 * expected(a[i]),
              ga[i],
              4 * Math.ulp((float) (3 * expected(a[i]))),
              "a[" + i + "]");
        }
        for (int i = 0; i < b.length; i++) {
          assertEquals(
              -0.5 * expected(b[i]),
              gb[i],
              4 * Math.ulp((float) (0.5 * expected(b[i]))),
              "b[" + i + "]");
        }
      }
    }
  }

  @Test
  void anIdentityNBuiltByTheUserGetsTheIdentityGradient() {
    assertTrue(GradientSurrogate.available(), "this platform registers custom gradients");
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> a = tf.constant(new float[] {1f, 2f});
      Operand<TFloat64> b = tf.constant(new double[] {3.0});
      List<Operand<?>> inputs = List.of(a, b);
      IdentityN both = tf.identityN(inputs);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> outA = (Operand<TFloat32>) (Operand<?>) both.output().get(0);
      @SuppressWarnings("unchecked")
      Operand<TFloat64> outB = (Operand<TFloat64>) (Operand<?>) both.output().get(1);
      Operand<TFloat32> y =
          tf.math.add(
              tf.sum(tf.math.mul(outA, tf.constant(5f)), tf.constant(0)),
              tf.dtypes.cast(tf.sum(outB, tf.constant(0)), TFloat32.class));
      Output<?>[] grads =
          g.addGradients(y.asOutput(), new Output<?>[] {a.asOutput(), b.asOutput()});
      try (Session s = new Session(g)) {
        float[] ga = Fixtures.fetchFloats(s, grads[0]);
        assertEquals(5f, ga[0]);
        assertEquals(5f, ga[1]);
        assertEquals(1.0, Fixtures.fetchScalar(s, grads[1]));
      }
    }
  }

  @Test
  void theSurrogateReturnsThePenaltyUnchanged() {
    float[] init = Fixtures.randomWeights(5, 1000, 1.0);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> w = tf.variable(tf.withInitScope().constant(Fixtures.tensor(init, 1000)));
      Operand<TFloat32> penalty = reg().build().penalty(tf, List.of(w));
      assertEquals(GradientSurrogate.SURROGATE_TYPE, penalty.op().type());
      GraphOperation computed = (GraphOperation) ((GraphOperation) penalty.op()).input(0).op();
      assertEquals("StopGradient", computed.type());
      try (Session s = new Session(g)) {
        assertEquals(
            Fixtures.fetchScalar(s, computed.input(0)), Fixtures.fetchScalar(s, penalty), 0.0);
      }
    }
  }

  private static boolean isMarked(GraphOperation op) {
    try {
      return op.attributes().getAttrBool(XlaScope.XLA_COMPILE_ATTR);
    } catch (RuntimeException absent) {
      return false;
    }
  }

  private static Set<String> names(Graph g) {
    Set<String> names = new HashSet<>();
    for (GraphOperation op : operations(g)) {
      names.add(op.name());
    }
    return names;
  }

  private static List<GraphOperation> operations(Graph g) {
    List<GraphOperation> ops = new ArrayList<>();
    Iterator<GraphOperation> it = g.operations();
    while (it.hasNext()) {
      ops.add(it.next());
    }
    return ops;
  }
}
