package io.github.tfl1l2.gradients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Softmax regression on three separable clusters, with the usual classification loss: the mean of
 * {@code SparseSoftmaxCrossEntropyWithLogits} over the batch. Trained through {@code L1L2.minimize}
 * and {@code ProximalGradientDescent}, which register the missing gradients themselves; the logits'
 * gradient is checked against {@code (softmax(logits) − onehot(labels)) / batch} computed here in
 * double.
 */
class SoftmaxClassifierTest {
  private static final int BATCH = 60;
  private static final int FEATURES = 4;
  private static final int CLASSES = 3;
  private static final int STEPS = 15;

  private static final float[] X = new float[BATCH * FEATURES];
  private static final int[] LABELS = new int[BATCH];

  static {
    Random random = new Random(7);
    double[][] centers = {{2, 0, 0, 1}, {0, 2, 0, -1}, {0, 0, 2, 0}};
    for (int i = 0; i < BATCH; i++) {
      LABELS[i] = i % CLASSES;
      for (int f = 0; f < FEATURES; f++) {
        X[i * FEATURES + f] = (float) (centers[LABELS[i]][f] + 0.5 * random.nextGaussian());
      }
    }
  }

  /** A resource variable (as Keras makes them) with the given initial values. */
  private static Operand<?> variable(Ops tf, String name, float[] values, long... shape) {
    Ops init = tf.withInitScope();
    VarHandleOp handle =
        init.withName(name)
            .varHandleOp(TFloat32.class, Shape.of(shape), VarHandleOp.sharedName(name));
    init.assignVariableOp(
        handle, init.constant(TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(values))));
    return handle;
  }

  private record Model(Operand<TFloat32> logits, Operand<TFloat32> loss, List<Operand<?>> weights) {
    static Model in(Ops tf) {
      float[] w0 = new float[FEATURES * CLASSES];
      Random random = new Random(8);
      for (int i = 0; i < w0.length; i++) {
        w0[i] = (float) (0.1 * random.nextGaussian());
      }
      Operand<?> kernel = variable(tf, "kernel", w0, FEATURES, CLASSES);
      Operand<?> bias = variable(tf, "bias", new float[CLASSES], CLASSES);
      Operand<TFloat32> x =
          tf.constant(TFloat32.tensorOf(Shape.of(BATCH, FEATURES), DataBuffers.of(X)));
      Operand<TFloat32> logits =
          tf.math.add(
              tf.linalg.matMul(x, tf.readVariableOp(kernel, TFloat32.class)),
              tf.readVariableOp(bias, TFloat32.class));
      Operand<TInt32> labels = tf.constant(LABELS);
      Operand<TFloat32> loss =
          tf.math.mean(
              tf.nn.sparseSoftmaxCrossEntropyWithLogits(logits, labels).loss(), tf.constant(0));
      return new Model(logits, loss, List.of(kernel, bias));
    }
  }

  private static float[] train(BiFunction<Graph, Model, Op> step) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(Ops.create(g));
      Op train = step.apply(g, m);
      float[] losses = new float[STEPS + 1];
      for (int i = 0; i <= STEPS; i++) {
        try (Result r = s.runner().fetch(m.loss()).run()) {
          losses[i] = ((TFloat32) r.get(0)).getFloat();
        }
        if (i < STEPS) {
          s.runner().addTarget(train).run();
        }
      }
      return losses;
    }
  }

  private static void assertLearns(float[] losses) {
    // Initial loss ≈ log 3 (near-zero weights); separable clusters fall well below it.
    assertTrue(Math.abs(losses[0] - Math.log(CLASSES)) < 0.3, "initial loss " + losses[0]);
    for (int i = 1; i < losses.length; i++) {
      assertTrue(losses[i] < losses[i - 1], "loss falls at step " + i + ": " + losses[i]);
    }
    assertTrue(losses[STEPS] < 0.5 * losses[0], "final loss " + losses[STEPS]);
  }

  @Test
  void l1l2MinimizeLowersTheCrossEntropy() {
    L1L2 reg = L1L2.builder().l2(1e-3).build();
    assertLearns(
        train((g, m) -> reg.minimize(new GradientDescent(g, 0.5f), m.loss(), m.weights())));
  }

  @Test
  void proximalGradientDescentLowersTheCrossEntropy() {
    L1L2 reg = L1L2.builder().l1(1e-4).l2(1e-3).build();
    assertLearns(
        train((g, m) -> new ProximalGradientDescent(g, 0.5f, reg).minimize(m.loss(), m.weights())));
  }

  @Test
  void logitsGradientIsSoftmaxMinusOneHotOverTheBatch() {
    MissingGradients.register();
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Model m = Model.in(Ops.create(g));
      Output<?>[] gradient =
          g.addGradients(m.loss().asOutput(), new Output<?>[] {m.logits().asOutput()});
      float[] logits = new float[BATCH * CLASSES];
      float[] actual = new float[BATCH * CLASSES];
      try (Result r = s.runner().fetch(m.logits()).fetch(gradient[0]).run()) {
        ((TFloat32) r.get(0)).copyTo(DataBuffers.of(logits, false, false));
        ((TFloat32) r.get(1)).copyTo(DataBuffers.of(actual, false, false));
      }
      for (int i = 0; i < BATCH; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < CLASSES; c++) {
          max = Math.max(max, logits[i * CLASSES + c]);
        }
        double total = 0;
        for (int c = 0; c < CLASSES; c++) {
          total += Math.exp(logits[i * CLASSES + c] - max);
        }
        for (int c = 0; c < CLASSES; c++) {
          double softmax = Math.exp(logits[i * CLASSES + c] - max) / total;
          double expected = (softmax - (c == LABELS[i] ? 1 : 0)) / BATCH;
          // float32 softmax: a few ulps of values ≤ 1, divided by the batch.
          assertEquals(
              expected, actual[i * CLASSES + c], 1e-6 / BATCH, "example " + i + ", class " + c);
        }
      }
    }
  }
}
