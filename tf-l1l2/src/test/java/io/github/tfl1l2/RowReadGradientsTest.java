package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.internal.DataGradients;
import io.github.tfl1l2.internal.GradientRules;
import io.github.tfl1l2.internal.VariableGradient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.ResourceGather;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Row reads of a resource variable ({@code ResourceGather}, {@code GatherV2} over a read): their
 * gradient is taken at the read's output and paired with its indices (row-sparse), and summed into
 * a dense gradient where the variable has dense reads too.
 */
class RowReadGradientsTest {
  /** A 4 × 2 table. */
  private static final float[] TABLE = {0.5f, -1f, 2f, 0.25f, -3f, 1.5f, 0.75f, -0.5f};

  private static final int ROWS = 4;
  private static final int WIDTH = 2;

  private static Operand<?> table(Ops tf) {
    Operand<?> handle =
        tf.withName("table")
            .varHandleOp(TFloat32.class, Shape.of(ROWS, WIDTH), VarHandleOp.sharedName("table"));
    tf.withInitScope().assignVariableOp(handle, tf.constant(Fixtures.tensor(TABLE, ROWS, WIDTH)));
    return handle;
  }

  /** Σ c ⊙ rows: its gradient at the rows is {@code c}. */
  private static Operand<TFloat32> weightedSum(Ops tf, Operand<TFloat32> rows, float[] c) {
    Operand<TFloat32> weights = tf.reshape(tf.constant(c), tf.shape(rows));
    return tf.reduceSum(
        tf.math.mul(weights, rows), tf.range(tf.constant(0), tf.rank(rows), tf.constant(1)));
  }

  /** The dense gradient that rows {@code c} (row-major, {@code WIDTH} wide) at {@code ids} mean. */
  private static double[] scattered(long[] ids, float[] c) {
    double[] dense = new double[ROWS * WIDTH];
    for (int k = 0; k < ids.length; k++) {
      for (int j = 0; j < WIDTH; j++) {
        dense[(int) ids[k] * WIDTH + j] += c[k * WIDTH + j];
      }
    }
    return dense;
  }

  private static void assertClose(double[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": size");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-6, what + " at " + i);
    }
  }

  private static long[] fetchIndices(Session s, Output<?> indices) {
    try (Result r = s.runner().fetch(indices).run()) {
      long[] out = new long[(int) r.get(0).shape().size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = r.get(0) instanceof TInt32 t ? t.getInt(i) : ((TInt64) r.get(0)).getLong(i);
      }
      return out;
    }
  }

  @Test
  void aResourceGatherReadGivesTheRowsGradientPairedWithItsIndices() {
    long[] ids = {2, 0, 2};
    float[] c = {1f, 2f, 3f, 4f, 5f, 6f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> rows =
          tf.resourceGather(table, tf.constant(new int[] {2, 0, 2}), TFloat32.class);
      Operand<TFloat32> loss = weightedSum(tf, rows, c);
      VariableGradient gradient =
          DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput()))
              .get(table.asOutput());
      assertTrue(gradient.isRowSparse());
      assertEquals(2, gradient.values().shape().numDimensions(), "[n, row]");
      assertEquals(WIDTH, gradient.values().shape().get(1));
      Output<?> dense = gradient.dense(tf.scope());
      try (Session s = new Session(g)) {
        s.initialize();
        assertClose(toDouble(c), Fixtures.fetchFloats(s, gradient.values()), "values");
        assertArrayEquals(ids, fetchIndices(s, gradient.indices()));
        // Duplicates add up in the dense form: row 2 gets c[0] + c[2].
        assertClose(scattered(ids, c), Fixtures.fetchFloats(s, dense), "dense");
      }
    }
  }

  @Test
  void aGatherV2OnAxis0OfAReadIsARowReadWithItsIndicesFlattened() {
    long[] ids = {1, 3, 1, 0};
    float[] c = {1f, -1f, 2f, -2f, 3f, -3f, 4f, -4f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> read = tf.readVariableOp(table, TFloat32.class);
      Operand<TFloat32> rows =
          tf.gather(read, tf.constant(new long[][] {{1, 3}, {1, 0}}), tf.constant(0));
      Operand<TFloat32> loss = weightedSum(tf, rows, c);
      VariableGradient gradient =
          DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput()))
              .get(table.asOutput());
      assertTrue(gradient.isRowSparse());
      try (Session s = new Session(g)) {
        s.initialize();
        assertClose(toDouble(c), Fixtures.fetchFloats(s, gradient.values()), "values");
        assertArrayEquals(ids, fetchIndices(s, gradient.indices()));
      }
    }
  }

  @Test
  void aVariableWithDenseAndRowReadsGetsTheDenseSumOfBoth() {
    long[] ids = {3, 3};
    float[] c = {1f, 2f, 3f, 4f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> rows =
          tf.resourceGather(table, tf.constant(new int[] {3, 3}), TFloat32.class);
      Operand<TFloat32> read = tf.readVariableOp(table, TFloat32.class);
      // Σ c ⊙ rows + Σ w²: ∂/∂w = 2w + scatter(c).
      Operand<TFloat32> loss =
          tf.math.add(
              weightedSum(tf, rows, c),
              tf.reduceSum(tf.math.square(read), tf.constant(new int[] {0, 1})));
      Map<Output<?>, VariableGradient> gradients =
          DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput()));
      VariableGradient gradient = gradients.get(table.asOutput());
      assertFalse(gradient.isRowSparse());
      double[] expected = scattered(ids, c);
      for (int i = 0; i < expected.length; i++) {
        expected[i] += 2.0 * TABLE[i];
      }
      try (Session s = new Session(g)) {
        s.initialize();
        assertClose(expected, Fixtures.fetchFloats(s, gradient.dense(tf.scope())), "dense");
      }
    }
  }

  @Test
  void aReadUsedByAGatherAndDenselyIsOneDenseRead() {
    long[] ids = {0};
    float[] c = {5f, 7f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> read = tf.readVariableOp(table, TFloat32.class);
      Operand<TFloat32> rows = tf.gather(read, tf.constant(new int[] {0}), tf.constant(0));
      Operand<TFloat32> loss =
          tf.math.add(weightedSum(tf, rows, c), tf.reduceSum(read, tf.constant(new int[] {0, 1})));
      Map<Output<?>, Output<?>> dense =
          DataGradients.reached(tf.scope(), loss, List.of(table.asOutput()));
      double[] expected = scattered(ids, c);
      for (int i = 0; i < expected.length; i++) {
        expected[i] += 1.0;
      }
      try (Session s = new Session(g)) {
        s.initialize();
        assertClose(expected, Fixtures.fetchFloats(s, dense.get(table.asOutput())), "dense");
      }
    }
  }

  @Test
  void twoRowReadsConcatenateTheirRowsAndIndicesOfMixedDtypes() {
    long[] ids = {1, 2, 1};
    float[] c = {1f, 2f, 3f, 4f, 5f, 6f};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> first =
          tf.resourceGather(table, tf.constant(new int[] {1, 2}), TFloat32.class);
      Operand<TFloat32> second =
          tf.resourceGather(table, tf.constant(new long[] {1}), TFloat32.class);
      Operand<TFloat32> loss =
          tf.math.add(
              weightedSum(tf, first, new float[] {1f, 2f, 3f, 4f}),
              weightedSum(tf, second, new float[] {5f, 6f}));
      VariableGradient gradient =
          DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput()))
              .get(table.asOutput());
      assertTrue(gradient.isRowSparse());
      assertEquals(DataType.DT_INT64, gradient.indices().dataType());
      try (Session s = new Session(g)) {
        s.initialize();
        long[] fetched = fetchIndices(s, gradient.indices());
        float[] values = Fixtures.fetchFloats(s, gradient.values());
        // The order of the reads is the graph's; compare as a scattered sum.
        assertClose(scattered(ids, c), toFloat(scattered(fetched, values)), "scattered");
      }
    }
  }

  @Test
  void aResourceGatherWithBatchDimsIsRefusedNamingTheNode() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> rows =
          tf.withName("batched")
              .resourceGather(
                  table,
                  tf.constant(new int[][] {{0}, {1}, {0}, {1}}),
                  TFloat32.class,
                  ResourceGather.batchDims(1L));
      Operand<TFloat32> loss = tf.reduceSum(rows, tf.constant(new int[] {0, 1}));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput())));
      assertTrue(e.getMessage().contains("\"batched\""), e.getMessage());
      assertTrue(e.getMessage().contains("batch_dims=1"), e.getMessage());
    }
  }

  @Test
  void aResourceVariableTheLossReachesThroughAnOpThatIsNotAReadIsRefusedNamingTheOp() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> rows = tf.resourceGather(table, tf.constant(new int[] {0}), TFloat32.class);
      Operand<TFloat32> size =
          tf.dtypes.cast(tf.withName("shape_of").variableShape(table), TFloat32.class);
      Operand<TFloat32> loss =
          tf.math.add(
              tf.reduceSum(rows, tf.constant(new int[] {0, 1})),
              tf.reduceSum(size, tf.constant(0)));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DataGradients.gradients(tf.scope(), loss, List.of(table.asOutput())));
      assertTrue(e.getMessage().contains("\"shape_of\" (a VariableShape)"), e.getMessage());
    }
  }

  @Test
  void aResourceGatherIsAReadThatAnUpdateFollows() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<?> table = table(tf);
      Operand<TFloat32> rows =
          tf.withName("lookup").resourceGather(table, tf.constant(new int[] {0}), TFloat32.class);
      assertTrue(
          DataGradients.readsToOrderBefore(table.asOutput()).contains(rows.op()),
          "the gather is ordered before the table's update");
    }
  }

  @Test
  void gradientsPassRegisteredOpsAndRowReadsOnly() {
    assertTrue(GradientRules.passes("ResourceGather"));
    assertTrue(GradientRules.passes("MatMul"));
    assertTrue(GradientRules.passes("ReadVariableOp"));
    assertFalse(GradientRules.passes("VariableShape"));
    assertFalse(GradientRules.passes("NoSuchOpType"));
  }

  private static double[] toDouble(float[] values) {
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  private static float[] toFloat(double[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (float) values[i];
    }
    return out;
  }
}
