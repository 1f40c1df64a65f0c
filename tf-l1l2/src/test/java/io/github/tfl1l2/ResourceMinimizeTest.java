package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.AdaDelta;
import org.tensorflow.framework.optimizers.AdaGrad;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Momentum;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.RMSProp;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;

/**
 * {@link L1L2#minimize} on resource variables ({@code VarHandleOp}, read through {@code
 * ReadVariableOp}): the same trajectory as on ref variables, slots named as the framework names
 * them, no barrier across variables, and no step that silently trains nothing.
 */
class ResourceMinimizeTest {
  private static final float LR = 0.05f;
  private static final double L1 = 0.02;
  private static final double L2 = 0.1;
  private static final double WEIGHT = 1.5;
  private static final int STEPS = 5;

  /** At the XLA threshold: updated in an XLA cluster. */
  private static final int BIG = (int) ResourceUpdates.XLA_MIN_ELEMENTS;

  private static final float[] KERNEL = Fixtures.randomWeights(1, 12, 1.0);
  private static final float[] BIAS = Fixtures.randomWeights(2, 4, 1.0);
  private static final float[] EXTRA = Fixtures.randomWeights(3, BIG, 1.0);
  private static final float[] WIDE = Fixtures.randomWeights(6, BIG, 1.0);
  private static final float[] INPUT = Fixtures.randomWeights(4, 5 * 3, 1.0);
  private static final float[] TARGET = Fixtures.randomWeights(5, 5 * 4, 1.0);
  private static final String[] NAMES = {"kernel", "bias", "extra_kernel", "wide_kernel"};

  static {
    KERNEL[2] = 0f; // sign(0) = 0
  }

  /**
   * A linear layer's MSE reaches kernel and bias (small: kernels); a mean square reaches
   * wide_kernel (big, with a data gradient: a cluster of its own); extra_kernel is reached by
   * nothing (big, penalty only). Each variable is ref or resource as {@code resource[i]} says.
   */
  private record Model(
      Ops tf,
      List<Operand<TFloat32>> values,
      Operand<TFloat32> dataLoss,
      List<Operand<?>> weights) {
    static Model in(Graph g, boolean... resource) {
      Ops tf = Ops.create(g);
      float[][] initial = {KERNEL, BIAS, EXTRA, WIDE};
      long[][] shapes = {{3, 4}, {4}, {BIG}, {BIG}};
      List<Operand<TFloat32>> values = new ArrayList<>();
      List<Operand<?>> weights = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        if (resource[i]) {
          Operand<?> handle = resourceVariable(tf, NAMES[i], initial[i], shapes[i], true);
          // The handle itself for two of them, a read for the others: both are accepted.
          values.add(tf.withName(NAMES[i] + "_read").readVariableOp(handle, TFloat32.class));
          weights.add(i % 2 == 0 ? handle : values.get(i));
        } else {
          Operand<TFloat32> v =
              tf.withName(NAMES[i])
                  .variable(tf.withInitScope().constant(Fixtures.tensor(initial[i], shapes[i])));
          // Read through Identity: Square straight on a ref variable crashes addGradients.
          values.add(tf.identity(v));
          weights.add(i == 1 ? values.get(i) : v);
        }
      }
      Operand<TFloat32> prediction =
          tf.math.add(
              tf.linalg.matMul(tf.constant(Fixtures.tensor(INPUT, 5, 3)), values.get(0)),
              values.get(1));
      Operand<TFloat32> error = tf.math.sub(prediction, tf.constant(Fixtures.tensor(TARGET, 5, 4)));
      Operand<TFloat32> dataLoss =
          tf.math.add(
              tf.math.mean(tf.math.square(error), tf.constant(new int[] {0, 1})),
              tf.math.mean(tf.math.square(values.get(3)), tf.constant(0)));
      return new Model(tf, values, dataLoss, weights);
    }
  }

  static Operand<?> resourceVariable(
      Ops tf, String name, float[] values, long[] shape, boolean sharedName) {
    Ops init = tf.withInitScope();
    VarHandleOp handle =
        sharedName
            ? init.withName(name)
                .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name))
            : init.withName(name).varHandleOp(TFloat32.class, Shape.of(shape));
    init.assignVariableOp(handle, init.constant(Fixtures.tensor(values, shape)));
    return handle;
  }

  private static Optimizer optimizer(String kind, Graph g) {
    return switch (kind) {
      case "GradientDescent" -> new GradientDescent(g, LR);
      case "Momentum" -> new Momentum(g, LR, 0.9f);
      case "MomentumNesterov" -> new Momentum(g, LR, 0.9f, true);
      case "RMSProp" -> new RMSProp(g, LR);
      case "RMSPropCenteredMomentum" -> new RMSProp(g, LR, 0.8f, 0.5f, 1e-6f, true);
      case "AdaGrad" -> new AdaGrad(g, LR);
      case "AdaGradAccumulator" -> new AdaGrad(g, LR, 0.3f);
      case "Adam" -> new Adam(g, LR);
      case "AdamSettings" -> new Adam(g, LR, 0.8f, 0.99f, 1e-4f);
      default -> throw new AssertionError(kind);
    };
  }

  private static float[][] train(String kind, boolean xla, boolean... resource) {
    L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).on("kernel").xla(xla).build();
    try (Graph g = new Graph()) {
      Model m = Model.in(g, resource);
      Op step = reg.minimize(optimizer(kind, g), m.dataLoss(), m.weights());
      try (Session s = new Session(g)) {
        for (int i = 0; i < STEPS; i++) {
          s.runner().addTarget(step).run();
        }
        float[][] values = new float[4][];
        for (int v = 0; v < 4; v++) {
          values[v] = Fixtures.fetchFloats(s, m.values().get(v));
        }
        return values;
      }
    }
  }

  @ParameterizedTest(name = "{0} xla={1}")
  @CsvSource({
    "GradientDescent,true",
    "GradientDescent,false",
    "Momentum,true",
    "MomentumNesterov,true",
    "RMSProp,true",
    "RMSPropCenteredMomentum,true",
    "AdaGrad,true",
    "AdaGradAccumulator,true",
    "Adam,true",
    "AdamSettings,true"
  })
  void resourceVariablesFollowTheRefVariablesTrajectory(String kind, boolean xla) {
    float[][] expected = train(kind, xla, false, false, false, false);
    float[][] actual = train(kind, xla, true, true, true, true);
    assertClose(kind, expected, actual);
  }

  @Test
  void refAndResourceVariablesTrainTogetherInOneList() {
    float[][] expected = train("Momentum", true, false, false, false, false);
    float[][] actual = train("Momentum", true, true, false, true, false);
    assertClose("Momentum", expected, actual);
  }

  /**
   * Within one ulp per step of the step's scale, the larger of the weight (before and after) and
   * the learning rate: 5 ulp after 5 steps. Where a step cancels a weight to near zero, the two
   * differ by more ulp of the small result, since XLA's CPU backend contracts {@code a·b + c} into
   * one FMA (one rounding, where the ref kernels round twice) and Grappler rewrites the two graphs
   * differently.
   */
  private static void assertClose(String kind, float[][] expected, float[][] actual) {
    float[][] initial = {KERNEL, BIAS, EXTRA, WIDE};
    // The framework's Adam updates its bias-correction powers without an order against its apply
    // ops (on ref variables), so one step may use the next step's power: ~0.3·lr per step.
    double tolerance = kind.startsWith("Adam") ? 0.4 * LR * STEPS : 0.0;
    double worst = 0;
    for (int v = 0; v < 4; v++) {
      for (int i = 0; i < expected[v].length; i++) {
        float scale = Math.max(Math.max(Math.abs(initial[v][i]), Math.abs(expected[v][i])), LR);
        double allowed = tolerance + STEPS * Math.ulp(scale);
        worst = Math.max(worst, Math.abs(expected[v][i] - actual[v][i]) / Math.ulp(scale));
        if (Math.abs(expected[v][i] - actual[v][i]) > allowed) {
          String where = kind + " " + NAMES[v] + "[" + i + "]";
          assertEquals(expected[v][i], actual[v][i], allowed, where);
        }
      }
      double moved = 0;
      for (int i = 0; i < expected[v].length; i++) {
        moved = Math.max(moved, Math.abs(actual[v][i] - initial[v][i]));
      }
      assertTrue(moved > tolerance, NAMES[v] + " was trained: it moved by " + moved);
    }
    if (tolerance == 0.0) {
      System.out.printf("%s: largest difference %.2f ulp of the scale%n", kind, worst);
    }
  }

  @Test
  void slotsAreResourceVariablesNamedAsTheFrameworkNamesThem() {
    for (String kind : new String[] {"Momentum", "RMSPropCenteredMomentum", "AdaGrad", "Adam"}) {
      Set<String> refSlots = slotNames(kind, false);
      Set<String> resourceSlots = slotNames(kind, true);
      assertTrue(!refSlots.isEmpty(), kind + " has slots");
      assertEquals(refSlots, resourceSlots, kind);
    }
  }

  /** The variables minimize adds, by name; their op type must be the variables' own. */
  private static Set<String> slotNames(String kind, boolean resource) {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, resource, resource, resource, resource);
      Set<String> before = opNames(g);
      L1L2.of(L1, L2).minimize(optimizer(kind, g), m.dataLoss(), m.weights());
      Set<String> added = new TreeSet<>();
      for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        if (!before.contains(op.name())
            && (op.type().equals("VariableV2") || op.type().equals("VarHandleOp"))) {
          assertEquals(resource ? "VarHandleOp" : "VariableV2", op.type(), op.name());
          if (resource) {
            assertEquals(
                op.name(), op.attributes().getAttrString("shared_name"), "shared_name of a slot");
          }
          added.add(op.name());
        }
      }
      return added;
    }
  }

  @Test
  void aVariableInANameScopeGetsItsSlotsNamedAfterItsFullNameAndTrains() {
    // Keras names its variables "dense/kernel": the slot's name has a '/' that Scope.withName
    // refuses, so it must still be built, under the same name the framework gives a slot.
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Ops init = tf.withInitScope().withSubScope("dense");
      VarHandleOp handle =
          init.withName("kernel")
              .varHandleOp(TFloat32.class, Shape.of(12), VarHandleOp.sharedName("dense/kernel"));
      init.assignVariableOp(handle, init.constant(Fixtures.tensor(KERNEL, new long[] {12})));
      Operand<TFloat32> w = tf.readVariableOp(handle, TFloat32.class);
      Operand<TFloat32> loss = tf.math.mean(tf.math.square(w), tf.constant(0));
      Op step = L1L2.of(L1, L2).minimize(new Adam(g, LR), loss, List.of(handle));
      for (String slot : new String[] {"dense/kernel-m", "dense/kernel-v"}) {
        GraphOperation op = g.operation(slot);
        assertTrue(op != null, slot + " exists");
        assertEquals("VarHandleOp", op.type(), slot);
        assertEquals(slot, op.attributes().getAttrString("shared_name"), slot);
      }
      s.runner().addTarget(step).run().close();
      try (Result r = s.runner().fetch(w).run()) {
        float[] after = new float[12];
        ((TFloat32) r.get(0)).copyTo(DataBuffers.of(after));
        for (int i = 0; i < 12; i++) {
          // Adam's first step moves every weight with a nonzero gradient by about lr.
          assertEquals(KERNEL[i] - LR * Math.signum(KERNEL[i]), after[i], 1e-3 * LR, "w" + i);
        }
      }
    }
  }

  @Test
  void noUpdateWaitsForAnotherVariablesGradient() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, true, true, true, true);
      Set<String> before = opNames(g);
      Op step = L1L2.of(L1, L2).minimize(new GradientDescent(g, LR), m.dataLoss(), m.weights());
      List<GraphOperation> applies = new ArrayList<>();
      for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        if (!before.contains(op.name()) && op.type().startsWith("ResourceApply")) {
          applies.add(op);
        }
      }
      assertEquals(4, applies.size(), "one update per variable");
      for (GraphOperation apply : applies) {
        String variable = apply.input(0).op().name();
        Set<GraphOperation> waitsFor = ancestors(apply);
        for (GraphOperation other : applies) {
          if (other != apply) {
            // ResourceApplyGradientDescent(var, alpha, delta): delta is that variable's gradient.
            GraphOperation gradient = (GraphOperation) other.input(2).op();
            assertTrue(
                !waitsFor.contains(other) && !waitsFor.contains(gradient),
                "the update of " + variable + " waits for " + other.input(0).op().name());
          }
        }
        if (variable.equals("extra_kernel")) {
          assertTrue(
              waitsFor.stream().noneMatch(op -> op.name().startsWith("gradients")),
              "the penalty-only update waits for no data gradient");
        }
      }
      assertTrue(step.op().name().endsWith("-minimize"), step.op().name());
    }
  }

  @Test
  void aReadThatDoesNotFeedTheLossSeesTheValueBeforeTheStep() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, true, true, true, true);
      // A metric over extra_kernel, which the data loss does not read.
      Operand<TFloat32> metric =
          m.tf()
              .reduceSum(
                  m.tf().readVariableOp(m.weights().get(2), TFloat32.class), m.tf().constant(0));
      Op step = L1L2.of(L1, L2).minimize(new GradientDescent(g, LR), m.dataLoss(), m.weights());
      double initialSum = 0;
      for (float w : EXTRA) {
        initialSum += w;
      }
      try (Session s = new Session(g)) {
        for (int i = 0; i < 3; i++) {
          double before = Fixtures.fetchScalar(s, metric);
          try (Result r = s.runner().addTarget(step).fetch(metric).run()) {
            assertEquals(before, Fixtures.scalar(r.get(0)), 0.0, "run " + i);
          }
          double after = Fixtures.fetchScalar(s, metric);
          assertTrue(after != before, "the step changed extra_kernel");
          if (i == 0) {
            assertEquals(initialSum, before, 1e-6 * BIG);
          }
        }
      }
    }
  }

  @Test
  void aResourceVariableTheLossReadsButTheWeightsDoNotListStaysAsItIs() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, true, true, true, true);
      // The data loss reads the kernel, as a loaded model's frozen layer; only the bias is listed.
      Op step =
          L1L2.of(L1, L2)
              .minimize(new GradientDescent(g, LR), m.dataLoss(), List.of(m.weights().get(1)));
      try (Session s = new Session(g)) {
        s.runner().addTarget(step).run();
        assertArrayEquals(KERNEL, Fixtures.fetchFloats(s, m.values().get(0)));
        float[] trainedBias = Fixtures.fetchFloats(s, m.values().get(1));
        assertTrue(!Arrays.equals(BIAS, trainedBias), "the listed bias trained");
      }
    }
  }

  @Test
  void aHandleWithoutASharedNameTrainsWithTheSameValues() {
    float[][] expected = train("GradientDescent", true, false, false, false, false);
    L1L2 reg = L1L2.builder().l1(L1).l2(L2).weight(WEIGHT).on("kernel").build();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> extra = resourceVariable(tf, "extra_kernel", EXTRA, new long[] {BIG}, false);
      Op step = reg.minimize(new GradientDescent(g, LR), tf.constant(0f), List.of(extra));
      try (Session s = new Session(g)) {
        for (int i = 0; i < STEPS; i++) {
          s.runner().addTarget(step).run();
        }
        float[] trained = Fixtures.fetchFloats(s, tf.readVariableOp(extra, TFloat32.class));
        float[] ref = expected[2];
        for (int i = 0; i < BIG; i++) {
          double allowed =
              STEPS * Math.ulp(Math.max(Math.max(Math.abs(EXTRA[i]), Math.abs(ref[i])), LR));
          if (Math.abs(ref[i] - trained[i]) > allowed) {
            assertEquals(ref[i], trained[i], allowed, "[" + i + "]");
          }
        }
      }
    }
  }

  @Test
  void twoHandlesOfOneVariableAreRefused() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // Without a shared_name of its own, each handle names the same variable "".
      Operand<?> a = resourceVariable(tf, "a", KERNEL, new long[] {12}, false);
      Operand<?> b = resourceVariable(tf, "b", BIAS, new long[] {4}, false);
      assertEquals(
          "VarHandleOp \"a\" and VarHandleOp \"b\" have the same shared_name \"\" (container"
              + " \"\"), so TensorFlow gives them one variable; give each VarHandleOp a"
              + " shared_name of its own (Keras uses the variable's name) to train it",
          assertThrows(
                  IllegalArgumentException.class,
                  () ->
                      L1L2.of(L1, L2)
                          .minimize(new GradientDescent(g, LR), tf.constant(0f), List.of(a, b)))
              .getMessage());
    }
  }

  @Test
  void anOptimizerWithoutAResourceRuleIsRefusedByType() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, true, true, true, true);
      L1L2 reg = L1L2.of(L1, L2);
      String message =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> reg.minimize(new AdaDelta(g), m.dataLoss(), m.weights()))
              .getMessage();
      assertTrue(message.contains("org.tensorflow.framework.optimizers.AdaDelta"), message);
      Optimizer subclass = new GradientDescent(g, LR) {};
      message =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> reg.minimize(subclass, m.dataLoss(), m.weights()))
              .getMessage();
      assertTrue(message.contains(subclass.getClass().getName()), message);
    }
  }

  @Test
  void aStepThatWouldTrainNothingIsRefused() {
    try (Graph g = new Graph()) {
      Model m = Model.in(g, true, true, true, true);
      Optimizer gd = new GradientDescent(g, LR);
      assertEquals(
          "weights must name at least one variable to regularize, but is empty",
          assertThrows(
                  IllegalArgumentException.class,
                  () -> L1L2.of(L1, L2).minimize(gd, m.dataLoss(), List.of()))
              .getMessage());
      L1L2 onlyBias = L1L2.builder().l1(L1).on("^bias$").build();
      assertEquals(
          "dataLoss (op \""
              + m.dataLoss().op().name()
              + "\") reaches none of the 1 weights"
              + " [extra_kernel], and the penalty selects none of them (on=^bias$): the step"
              + " would train none of them",
          assertThrows(
                  IllegalArgumentException.class,
                  () -> onlyBias.minimize(gd, m.dataLoss(), List.of(m.weights().get(2))))
              .getMessage());
      assertTrue(
          assertThrows(
                  IllegalArgumentException.class,
                  () -> L1L2.of(0, 0).minimize(gd, m.dataLoss(), List.of(m.weights().get(2))))
              .getMessage()
              .endsWith(
                  "and the penalty selects none of them (it is zero): the step would train"
                      + " none of them"));
    }
  }

  private static Set<String> opNames(Graph g) {
    Set<String> names = new HashSet<>();
    g.operations().forEachRemaining(op -> names.add(op.name()));
    return names;
  }

  /** Data and control ancestors of {@code op}. */
  private static Set<GraphOperation> ancestors(GraphOperation op) {
    Set<GraphOperation> seen = new HashSet<>();
    Deque<GraphOperation> pending = new ArrayDeque<>(List.of(op));
    while (!pending.isEmpty()) {
      GraphOperation next = pending.pop();
      for (int i = 0; i < next.numInputs(); i++) {
        if (next.input(i).op() instanceof GraphOperation in && seen.add(in)) {
          pending.add(in);
        }
      }
      for (GraphOperation in : next.controlInputs()) {
        if (seen.add(in)) {
          pending.add(in);
        }
      }
    }
    return seen;
  }
}
