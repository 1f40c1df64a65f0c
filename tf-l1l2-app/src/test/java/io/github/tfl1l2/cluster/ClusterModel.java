package io.github.tfl1l2.cluster;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import io.github.tfl1l2.testing.References;
import java.util.List;
import java.util.Random;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/**
 * The graph the cluster tests train: a float32 kernel of 4 MiB pinned to {@code /job:ps/task:0}, a
 * float64 kernel of 4 MiB pinned to {@code /job:ps/task:1}, and a small bias with the data loss on
 * {@code /job:worker/task:0}; the penalty is on the kernels only. Built unpinned, the same graph
 * runs in one process as the reference.
 */
final class ClusterModel implements AutoCloseable {
  static final int A_ROWS = 1024;
  static final int A_COLS = 1024;
  static final int B_ROWS = 512;
  static final int B_COLS = 1024;
  static final double L1 = 1e-3;
  static final double L2 = 1e-2;
  static final float LEARNING_RATE = 0.1f;
  static final L1L2 REGULARIZER = L1L2.builder().l1(L1).l2(L2).on("kernel").build();

  /** Initial values, from a fixed seed, with exact zeros (sign 0) and both signs. */
  static final float[] A_INITIAL = floats(A_ROWS * A_COLS, 11);

  static final double[] B_INITIAL = doubles(B_ROWS * B_COLS, 12);
  static final float[] BIAS_INITIAL = {0.5f, -0.25f, 1f, -2f};

  final Graph graph;
  final Variable<TFloat32> kernelA;
  final Variable<TFloat64> kernelB;
  final Variable<TFloat32> bias;
  final Operand<TFloat32> penalty;
  final Op train;

  /** How one training step updates the variables. */
  enum Step {
    /** The framework's {@code GradientDescent} minimizing {@code REGULARIZER.addTo(dataLoss)}. */
    GRADIENT_DESCENT,
    /** {@code REGULARIZER.minimize(new GradientDescent(…), dataLoss, weights)}: the fused step. */
    L1L2_MINIMIZE,
    /** {@code ProximalGradientDescent} with {@code REGULARIZER} minimizing the data loss. */
    PROXIMAL
  }

  private ClusterModel(boolean pinned, Step step) {
    graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Ops ps0 = pinned ? tf.withDevice(task("ps", 0)) : tf;
      Ops ps1 = pinned ? tf.withDevice(task("ps", 1)) : tf;
      Ops worker = pinned ? tf.withDevice(task("worker", 0)) : tf;
      kernelA =
          ps0.withName("kernel_a")
              .variable(
                  ps0.withInitScope()
                      .constant(Shape.of(A_ROWS, A_COLS), DataBuffers.of(A_INITIAL, true, false)));
      kernelB =
          ps1.withName("kernel_b")
              .variable(
                  ps1.withInitScope()
                      .constant(Shape.of(B_ROWS, B_COLS), DataBuffers.of(B_INITIAL, true, false)));
      bias = worker.withName("bias").variable(worker.withInitScope().constant(BIAS_INITIAL));
      Operand<TFloat32> dataLoss =
          worker.reduceSum(worker.math.square(worker.identity(bias)), worker.constant(0));
      penalty = REGULARIZER.penalty(tf, List.of(kernelA, kernelB));
      train =
          switch (step) {
            case GRADIENT_DESCENT ->
                new GradientDescent(graph, LEARNING_RATE)
                    .minimize(REGULARIZER.addTo(tf, dataLoss, List.of(kernelA, kernelB, bias)));
            case L1L2_MINIMIZE ->
                REGULARIZER.minimize(
                    new GradientDescent(graph, LEARNING_RATE),
                    dataLoss,
                    List.of(kernelA, kernelB, bias));
            case PROXIMAL ->
                new ProximalGradientDescent(graph, LEARNING_RATE, REGULARIZER).minimize(dataLoss);
          };
    } catch (RuntimeException | Error e) {
      graph.close();
      throw e;
    }
  }

  /** The graph with its variables pinned to the tasks of a 2-ps, 1-worker cluster. */
  static ClusterModel onCluster(Step step) {
    return new ClusterModel(true, step);
  }

  /** The same graph with nothing pinned, for a session in this process. */
  static ClusterModel inOneProcess(Step step) {
    return new ClusterModel(false, step);
  }

  static DeviceSpec task(String job, int task) {
    return DeviceSpec.newBuilder().job(job).task(task).build();
  }

  float penalty(Session session) {
    try (Result result = session.runner().fetch(penalty).run()) {
      return ((TFloat32) result.get(0)).getFloat();
    }
  }

  void steps(Session session, int count) {
    for (int i = 0; i < count; i++) {
      session.runner().addTarget(train).run();
    }
  }

  float[] kernelA(Session session) {
    float[] values = new float[A_ROWS * A_COLS];
    try (Result result = session.runner().fetch(kernelA).run()) {
      ((TFloat32) result.get(0)).copyTo(DataBuffers.of(values, false, false));
    }
    return values;
  }

  double[] kernelB(Session session) {
    double[] values = new double[B_ROWS * B_COLS];
    try (Result result = session.runner().fetch(kernelB).run()) {
      ((TFloat64) result.get(0)).copyTo(DataBuffers.of(values, false, false));
    }
    return values;
  }

  float[] bias(Session session) {
    float[] values = new float[BIAS_INITIAL.length];
    try (Result result = session.runner().fetch(bias).run()) {
      ((TFloat32) result.get(0)).copyTo(DataBuffers.of(values, false, false));
    }
    return values;
  }

  /** The penalty of given kernel values, in double: the independent reference. */
  static double referencePenalty(float[] a, double[] b) {
    return L1 * (References.l1Sum(a) + References.l1Sum(b))
        + L2 * (References.l2Sum(a) + References.l2Sum(b));
  }

  @Override
  public void close() {
    graph.close();
  }

  private static float[] floats(int n, long seed) {
    Random random = new Random(seed);
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = i % 97 == 0 ? 0f : (float) (random.nextGaussian() * 0.5);
    }
    return values;
  }

  private static double[] doubles(int n, long seed) {
    Random random = new Random(seed);
    double[] values = new double[n];
    for (int i = 0; i < n; i++) {
      values[i] = i % 89 == 0 ? 0.0 : random.nextGaussian() * 0.5;
    }
    return values;
  }
}
