package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.AdaGrad;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Momentum;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.RMSProp;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * {@link L1L2#minimize} on an embedding table read by row reads: an unpenalized table gets a
 * row-sparse update of the gathered rows (TensorFlow's sparse semantics: untouched rows and their
 * slots stay as they are; Adam as Keras 2 applies it), a penalized one the dense path. Every
 * expected value comes from a double-precision reference of those semantics, computed here.
 */
class EmbeddingMinimizeTest {
  private static final int ROWS = 6;
  private static final int WIDTH = 3;
  private static final int BATCH = 3;
  private static final float LR = 0.1f;
  private static final float[] TABLE = Fixtures.randomWeights(11, ROWS * WIDTH, 1.0);
  private static final float[] KERNEL = {0.5f, -1.5f, 2f};
  private static final float[] TARGET = {1f, -2f, 0.5f};

  /** Two steps' ids: a duplicate in the first; row 1 is left out of the second. */
  private static final int[][] IDS = {{4, 1, 4}, {0, 4, 2}};

  /**
   * The model: rows = gather(table, ids) (one id per example), pred_b = rows_b · kernel, loss = Σ_b
   * (pred_b − y_b)² / B. The kernel is a frozen variable (not listed), so the table's gradient
   * depends on the table alone.
   */
  private record Model(
      Graph graph, Ops tf, Operand<?> table, Operand<TInt32> ids, Operand<TFloat32> loss) {
    static Model in(Graph g, boolean gatherV2, boolean denseReadToo) {
      Ops tf = Ops.create(g);
      Operand<?> table =
          tf.withName("table")
              .varHandleOp(TFloat32.class, Shape.of(ROWS, WIDTH), VarHandleOp.sharedName("table"));
      tf.withInitScope().assignVariableOp(table, tf.constant(Fixtures.tensor(TABLE, ROWS, WIDTH)));
      Operand<?> kernel =
          tf.withName("kernel")
              .varHandleOp(TFloat32.class, Shape.of(WIDTH), VarHandleOp.sharedName("kernel"));
      tf.withInitScope().assignVariableOp(kernel, tf.constant(KERNEL));
      Operand<TInt32> ids = tf.placeholder(TInt32.class, Placeholder.shape(Shape.of(BATCH)));
      Operand<TFloat32> rows =
          gatherV2
              ? tf.gather(tf.readVariableOp(table, TFloat32.class), ids, tf.constant(0))
              : tf.resourceGather(table, ids, TFloat32.class);
      Operand<TFloat32> pred =
          tf.reduceSum(
              tf.math.mul(rows, tf.readVariableOp(kernel, TFloat32.class)), tf.constant(1));
      Operand<TFloat32> error = tf.math.sub(pred, tf.constant(TARGET));
      Operand<TFloat32> loss =
          tf.math.div(
              tf.reduceSum(tf.math.square(error), tf.constant(0)), tf.constant((float) BATCH));
      if (denseReadToo) {
        // + 0.5·Σ table: every row's gradient gets 0.5.
        loss =
            tf.math.add(
                loss,
                tf.math.mul(
                    tf.constant(0.5f),
                    tf.reduceSum(
                        tf.readVariableOp(table, TFloat32.class), tf.constant(new int[] {0, 1}))));
      }
      return new Model(g, tf, table, ids, loss);
    }

    float[] read(Session s, String variable) {
      Operand<TFloat32> value =
          tf.readVariableOp(graph.operation(variable).output(0), TFloat32.class);
      return Fixtures.fetchFloats(s, value);
    }

    void step(Session s, Op step, int[] batch) {
      try (TInt32 feed = TInt32.vectorOf(batch)) {
        s.runner().feed(ids, feed).addTarget(step).run().close();
      }
    }
  }

  /** The regularizer: the penalty is on the (frozen) kernel only, so the table is unpenalized. */
  private static L1L2 onKernel() {
    return L1L2.builder().l1(0.01).l2(0.02).on("kernel").build();
  }

  // ---------------------------------------------------------------- the double reference

  /** The data gradient of each touched row for one batch, duplicates summed, in row order. */
  private static Map<Integer, double[]> rowGradients(double[] table, int[] ids, double dense) {
    Map<Integer, double[]> rows = new TreeMap<>();
    for (int b = 0; b < BATCH; b++) {
      double pred = 0;
      for (int j = 0; j < WIDTH; j++) {
        pred += table[ids[b] * WIDTH + j] * KERNEL[j];
      }
      double scale = 2.0 * (pred - TARGET[b]) / BATCH;
      double[] g = rows.computeIfAbsent(ids[b], r -> new double[WIDTH]);
      for (int j = 0; j < WIDTH; j++) {
        g[j] += scale * KERNEL[j];
      }
    }
    if (dense != 0) {
      for (int r = 0; r < ROWS; r++) {
        double[] g = rows.computeIfAbsent(r, k -> new double[WIDTH]);
        for (int j = 0; j < WIDTH; j++) {
          g[j] += dense;
        }
      }
    }
    return rows;
  }

  private static double[] toDouble(float[] values) {
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  private static void assertClose(double[] expected, float[] actual, String what) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(
          expected[i], actual[i], 2e-5 * Math.max(1, Math.abs(expected[i])), what + " at " + i);
    }
  }

  /** Rows of {@code after} not in {@code touched} are bit-for-bit those of {@code before}. */
  private static void assertUntouchedRowsUnchanged(
      float[] before, float[] after, Iterable<Integer> touched, String what) {
    List<Integer> kept = new ArrayList<>();
    for (int r = 0; r < ROWS; r++) {
      kept.add(r);
    }
    touched.forEach(kept::remove);
    for (int r : kept) {
      for (int j = 0; j < WIDTH; j++) {
        assertEquals(before[r * WIDTH + j], after[r * WIDTH + j], 0.0, what + " row " + r);
      }
    }
  }

  private static boolean hasOpOfType(Graph g, String type) {
    for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
      if (it.next().type().equals(type)) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- GradientDescent

  @ParameterizedTest(name = "gatherV2 over a read: {0}")
  @ValueSource(booleans = {false, true})
  void aGradientDescentStepMovesOnlyTheGatheredRowsByLrTimesTheirSummedGradient(boolean v2) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, v2, false);
      Op step = onKernel().minimize(new GradientDescent(g, LR), m.loss(), List.of(m.table()));
      assertTrue(hasOpOfType(g, "ResourceScatterSub"), "a row-sparse update");
      s.initialize();
      double[] table = toDouble(TABLE);
      for (int[] ids : IDS) {
        float[] before = m.read(s, "table");
        Map<Integer, double[]> rows = rowGradients(table, ids, 0);
        m.step(s, step, ids);
        float[] after = m.read(s, "table");
        rows.forEach(
            (r, grad) -> {
              for (int j = 0; j < WIDTH; j++) {
                table[r * WIDTH + j] -= LR * grad[j];
              }
            });
        assertClose(table, after, "table");
        assertUntouchedRowsUnchanged(before, after, rows.keySet(), "table");
        for (int i = 0; i < table.length; i++) {
          table[i] = after[i];
        }
      }
    }
  }

  // ---------------------------------------------------------------- slot optimizers

  /** One optimizer's sparse rule on a touched row, in double, and its slots' initial values. */
  private record Rule(
      String name,
      Function<Graph, Optimizer> optimizer,
      List<String> slots,
      double[] initial,
      RowStep step) {}

  /** Updates {@code w} (one row) and its slots {@code s[k]} for the summed gradient {@code g}. */
  private interface RowStep {
    void apply(double[] w, double[][] s, double[] g);
  }

  private static final float MOMENTUM = 0.7f;
  private static final float RHO = 0.8f;
  private static final float EPS = 1e-3f;
  private static final float ACC0 = 0.1f;

  private static Rule momentum(boolean nesterov) {
    return new Rule(
        "Momentum nesterov=" + nesterov,
        g -> new Momentum(g, LR, MOMENTUM, nesterov),
        List.of("momentum"),
        new double[] {0},
        (w, s, g) -> {
          for (int j = 0; j < WIDTH; j++) {
            s[0][j] = s[0][j] * MOMENTUM + g[j];
            w[j] -= nesterov ? LR * g[j] + LR * MOMENTUM * s[0][j] : LR * s[0][j];
          }
        });
  }

  private static Rule adaGrad() {
    return new Rule(
        "AdaGrad",
        g -> new AdaGrad(g, LR, ACC0),
        List.of("accumulator"),
        new double[] {ACC0},
        (w, s, g) -> {
          for (int j = 0; j < WIDTH; j++) {
            s[0][j] += g[j] * g[j];
            w[j] -= LR * g[j] / Math.sqrt(s[0][j]);
          }
        });
  }

  private static Rule rmsProp(boolean centered) {
    return new Rule(
        "RMSProp centered=" + centered,
        g -> new RMSProp(g, LR, RHO, MOMENTUM, EPS, centered),
        centered ? List.of("rms", "momentum", "mg") : List.of("rms", "momentum"),
        centered ? new double[] {1, 0, 0} : new double[] {1, 0},
        (w, s, g) -> {
          for (int j = 0; j < WIDTH; j++) {
            s[0][j] = RHO * s[0][j] + (1 - RHO) * g[j] * g[j];
            double denominator = s[0][j] + EPS;
            if (centered) {
              s[2][j] = RHO * s[2][j] + (1 - RHO) * g[j];
              denominator -= s[2][j] * s[2][j];
            }
            s[1][j] = MOMENTUM * s[1][j] + LR * g[j] / Math.sqrt(denominator);
            w[j] -= s[1][j];
          }
        });
  }

  private void checkSlotRule(Rule rule) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, false);
      Op step = onKernel().minimize(rule.optimizer().apply(g), m.loss(), List.of(m.table()));
      s.initialize();
      double[] table = toDouble(TABLE);
      double[][] slots = new double[rule.slots().size()][ROWS * WIDTH];
      for (int k = 0; k < slots.length; k++) {
        java.util.Arrays.fill(slots[k], rule.initial()[k]);
      }
      for (int[] ids : IDS) {
        float[] before = m.read(s, "table");
        Map<String, float[]> slotsBefore = new LinkedHashMap<>();
        for (String slot : rule.slots()) {
          slotsBefore.put(slot, m.read(s, "table-" + slot));
        }
        Map<Integer, double[]> rows = rowGradients(table, ids, 0);
        m.step(s, step, ids);
        rows.forEach(
            (r, grad) -> {
              double[] w = java.util.Arrays.copyOfRange(table, r * WIDTH, (r + 1) * WIDTH);
              double[][] rowSlots = new double[slots.length][];
              for (int k = 0; k < slots.length; k++) {
                rowSlots[k] = java.util.Arrays.copyOfRange(slots[k], r * WIDTH, (r + 1) * WIDTH);
              }
              rule.step().apply(w, rowSlots, grad);
              System.arraycopy(w, 0, table, r * WIDTH, WIDTH);
              for (int k = 0; k < slots.length; k++) {
                System.arraycopy(rowSlots[k], 0, slots[k], r * WIDTH, WIDTH);
              }
            });
        float[] after = m.read(s, "table");
        assertClose(table, after, rule.name() + " table");
        assertUntouchedRowsUnchanged(before, after, rows.keySet(), rule.name() + " table");
        for (int k = 0; k < slots.length; k++) {
          String slot = rule.slots().get(k);
          float[] slotAfter = m.read(s, "table-" + slot);
          assertClose(slots[k], slotAfter, rule.name() + " " + slot);
          assertUntouchedRowsUnchanged(
              slotsBefore.get(slot), slotAfter, rows.keySet(), rule.name() + " " + slot);
        }
      }
    }
  }

  @ParameterizedTest(name = "nesterov: {0}")
  @ValueSource(booleans = {false, true})
  void aMomentumStepUpdatesOnlyTheGatheredRowsAndTheirSlotRows(boolean nesterov) {
    checkSlotRule(momentum(nesterov));
  }

  @Test
  void anAdaGradStepUpdatesOnlyTheGatheredRowsAndTheirSlotRows() {
    checkSlotRule(adaGrad());
  }

  @ParameterizedTest(name = "centered: {0}")
  @ValueSource(booleans = {false, true})
  void anRmsPropStepUpdatesOnlyTheGatheredRowsAndTheirSlotRows(boolean centered) {
    checkSlotRule(rmsProp(centered));
  }

  // ---------------------------------------------------------------- Adam

  @Test
  void anAdamStepDecaysTheWholeMomentsAddsTheRowsAndMovesEveryRowWithAMoment() {
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float epsilon = 1e-8f;
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, false);
      Op step =
          onKernel().minimize(new Adam(g, LR, beta1, beta2, epsilon), m.loss(), List.of(m.table()));
      s.initialize();
      double[] table = toDouble(TABLE);
      double[] mom = new double[ROWS * WIDTH];
      double[] vel = new double[ROWS * WIDTH];
      double p1 = beta1;
      double p2 = beta2;
      for (int[] ids : IDS) {
        float[] before = m.read(s, "table");
        Map<Integer, double[]> rows = rowGradients(table, ids, 0);
        m.step(s, step, ids);
        for (int i = 0; i < mom.length; i++) {
          mom[i] *= beta1;
          vel[i] *= beta2;
        }
        rows.forEach(
            (r, grad) -> {
              for (int j = 0; j < WIDTH; j++) {
                mom[r * WIDTH + j] += (1 - beta1) * grad[j];
                vel[r * WIDTH + j] += (1 - beta2) * grad[j] * grad[j];
              }
            });
        double lr = LR * Math.sqrt(1 - p2) / (1 - p1);
        for (int i = 0; i < table.length; i++) {
          table[i] -= lr * mom[i] / (Math.sqrt(vel[i]) + epsilon);
        }
        p1 *= beta1;
        p2 *= beta2;
        float[] after = m.read(s, "table");
        assertClose(table, after, "table");
        assertClose(mom, m.read(s, "table-m"), "m");
        assertClose(vel, m.read(s, "table-v"), "v");
        if (ids == IDS[1]) {
          // Row 1, gathered in the first step only, still moves in the second: its moment is
          // decayed, not forgotten (Keras' sparse Adam updates the whole table).
          assertNotEquals(before[WIDTH], after[WIDTH], "row 1 moves");
        }
      }
      // Row 5, never gathered, has zero moments and stays.
      assertEquals(TABLE[5 * WIDTH], m.read(s, "table")[5 * WIDTH], 0.0);
    }
  }

  // ---------------------------------------------------------------- dense cases

  @Test
  void aPenalizedTableTakesTheDensePathAndEveryRowShrinks() {
    double l1 = 0.01;
    double l2 = 0.02;
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, false);
      L1L2 reg = L1L2.builder().l1(l1).l2(l2).build();
      Op step = reg.minimize(new GradientDescent(g, LR), m.loss(), List.of(m.table()));
      assertFalse(hasOpOfType(g, "ResourceScatterSub"), "no row-sparse update");
      s.initialize();
      double[] table = toDouble(TABLE);
      Map<Integer, double[]> rows = rowGradients(table, IDS[0], 0);
      m.step(s, step, IDS[0]);
      for (int r = 0; r < ROWS; r++) {
        for (int j = 0; j < WIDTH; j++) {
          int i = r * WIDTH + j;
          double data = rows.containsKey(r) ? rows.get(r)[j] : 0;
          table[i] -= LR * (data + l1 * Math.signum(table[i]) + 2 * l2 * table[i]);
        }
      }
      assertClose(table, m.read(s, "table"), "table");
    }
  }

  @Test
  void aTableWithADenseReadTooGetsTheDenseSumOfItsGradients() {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, true);
      Op step = onKernel().minimize(new GradientDescent(g, LR), m.loss(), List.of(m.table()));
      assertFalse(hasOpOfType(g, "ResourceScatterSub"), "no row-sparse update");
      s.initialize();
      double[] table = toDouble(TABLE);
      Map<Integer, double[]> rows = rowGradients(table, IDS[0], 0.5);
      m.step(s, step, IDS[0]);
      rows.forEach(
          (r, grad) -> {
            for (int j = 0; j < WIDTH; j++) {
              table[r * WIDTH + j] -= LR * grad[j];
            }
          });
      assertClose(table, m.read(s, "table"), "table");
    }
  }

  @Test
  void aProximalStepOnATableUsesTheDenseGradientOfItsRowsAndShrinksEveryRow() {
    double l1 = 0.05;
    double l2 = 0.02;
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, false);
      L1L2 reg = L1L2.builder().l1(l1).l2(l2).on("table").build();
      Op step = new ProximalGradientDescent(g, LR, reg).minimize(m.loss(), List.of(m.table()));
      s.initialize();
      double[] table = toDouble(TABLE);
      Map<Integer, double[]> rows = rowGradients(table, IDS[0], 0);
      m.step(s, step, IDS[0]);
      for (int r = 0; r < ROWS; r++) {
        for (int j = 0; j < WIDTH; j++) {
          int i = r * WIDTH + j;
          double v = table[i] - LR * (rows.containsKey(r) ? rows.get(r)[j] : 0);
          table[i] = Math.signum(v) * Math.max(Math.abs(v) - LR * l1, 0) / (1 + LR * 2 * l2);
        }
      }
      assertClose(table, m.read(s, "table"), "table");
    }
  }

  // ---------------------------------------------------------------- ordering

  @Test
  void aRowReadFetchedBesideTheStepSeesTheTableBeforeIt() {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(g, false, false);
      Operand<TFloat32> peek =
          m.tf().resourceGather(m.table(), m.tf().constant(new int[] {4}), TFloat32.class);
      Op step = onKernel().minimize(new GradientDescent(g, LR), m.loss(), List.of(m.table()));
      s.initialize();
      try (TInt32 feed = TInt32.vectorOf(IDS[0]);
          Result r = s.runner().feed(m.ids(), feed).addTarget(step).fetch(peek).run()) {
        float[] seen = Fixtures.floats(r.get(0));
        for (int j = 0; j < WIDTH; j++) {
          assertEquals(TABLE[4 * WIDTH + j], seen[j], 0.0, "row 4 before the step");
        }
      }
      assertNotEquals(TABLE[4 * WIDTH], m.read(s, "table")[4 * WIDTH], "row 4 moved");
    }
  }
}
