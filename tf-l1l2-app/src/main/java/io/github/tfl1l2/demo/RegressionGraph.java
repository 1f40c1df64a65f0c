package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import io.github.tfl1l2.savedmodel.RegularizationSignature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * The TensorFlow graph of one linear regression model {@code prediction = features · weights +
 * bias}, trained on the mean squared error plus an {@link L1L2} penalty on the weights, with its
 * session.
 *
 * <p>How the penalty is trained depends on the {@link Setting.Step}: {@link Setting.Step#PROXIMAL}
 * runs {@link ProximalGradientDescent} on the data loss, which applies the penalty through its
 * proximal operator and leaves exact zeros; {@link Setting.Step#SUBGRADIENT} runs the framework's
 * {@link GradientDescent} on {@code data loss + penalty}, whose L1 gradient {@code ±l1} never lets
 * a weight settle at zero. The bias is not penalized ({@code on("^weights$")}). The penalty the
 * graph reports is the same {@code penalty(…)} op either way.
 */
final class RegressionGraph implements AutoCloseable {
  /** The serving input: a float32 matrix with one row per example. */
  static final String FEATURES = "features";

  /** The training targets: a float32 vector. */
  static final String TARGETS = "targets";

  /** The weight vector variable ({@code [features, 1]}), the only penalized parameter. */
  static final String WEIGHTS = "weights";

  /** The scalar bias variable. */
  static final String BIAS = "bias";

  /** The serving output: a float32 vector with one prediction per row. */
  static final String PREDICTION = "prediction";

  private final L1L2 regularizer;
  private final Graph graph;
  private final Session session;
  private final Placeholder<TFloat32> features;
  private final Placeholder<TFloat32> targets;
  private final Variable<TFloat32> weights;
  private final Variable<TFloat32> bias;
  private final Operand<TFloat32> prediction;
  private final Operand<TFloat32> dataLoss;
  private final Operand<TFloat32> penalty;
  private final Op trainingStep;
  private final Signature serving;
  private final Signature regularization;

  /**
   * Builds the graph and opens its session.
   *
   * @param featureCount the number of input features
   * @param regularizer the penalty on the weights ({@code on} is replaced by the weights only)
   * @param step how the penalty is trained
   * @param learningRate the constant step size
   */
  RegressionGraph(int featureCount, L1L2 regularizer, Setting.Step step, float learningRate) {
    this.regularizer = regularizer.toBuilder().on("^" + WEIGHTS + "$").build();
    this.graph = new Graph();
    boolean built = false;
    try {
      Ops tf = Ops.create(graph);
      features =
          tf.withName(FEATURES)
              .placeholder(
                  TFloat32.class, Placeholder.shape(Shape.of(Shape.UNKNOWN_SIZE, featureCount)));
      targets =
          tf.withName(TARGETS)
              .placeholder(TFloat32.class, Placeholder.shape(Shape.of(Shape.UNKNOWN_SIZE)));
      // Zero start: training involves no randomness at all, so a seed fixes every number.
      Ops init = tf.withInitScope();
      weights =
          tf.withName(WEIGHTS)
              .variable(init.zeros(init.constant(new long[] {featureCount, 1}), TFloat32.class));
      bias = tf.withName(BIAS).variable(init.constant(0.0f));
      prediction =
          tf.withName(PREDICTION)
              .reshape(
                  tf.math.add(tf.linalg.matMul(features, weights), bias),
                  tf.constant(new long[] {-1}));
      dataLoss =
          tf.withName("mean_squared_error")
              .math
              .mean(tf.math.square(tf.math.sub(prediction, targets)), tf.constant(0));
      Map<String, Operand<?>> parameters = new LinkedHashMap<>();
      parameters.put(WEIGHTS, weights);
      parameters.put(BIAS, bias);
      penalty = this.regularizer.penalty(tf, parameters.values());
      trainingStep =
          switch (step) {
            case PROXIMAL ->
                new ProximalGradientDescent(graph, learningRate, this.regularizer)
                    .minimize(dataLoss);
            case SUBGRADIENT ->
                new GradientDescent(graph, learningRate).minimize(tf.math.add(dataLoss, penalty));
          };
      serving =
          Signature.builder()
              .key(Signature.DEFAULT_KEY)
              .input(FEATURES, features)
              .output(PREDICTION, prediction)
              .build();
      regularization = RegularizationSignature.create(tf, this.regularizer, parameters);
      session = new Session(graph, singleThreaded());
      built = true;
    } finally {
      if (!built) {
        graph.close();
      }
    }
  }

  /** The regularizer as applied: the given one restricted to {@value #WEIGHTS}. */
  L1L2 regularizer() {
    return regularizer;
  }

  /** Runs {@code steps} training steps on the given data. */
  void train(int steps, TFloat32 x, TFloat32 y) {
    for (int i = 0; i < steps; i++) {
      // Nothing fetched: the step only updates the variables.
      session.runner().feed(features, x).feed(targets, y).addTarget(trainingStep).run().close();
    }
  }

  /** Evaluates the data loss and the penalty on {@code (x, y)} as the training graph sees them. */
  LossSnapshot evaluate(TFloat32 x, TFloat32 y) {
    try (Result result =
        session.runner().feed(features, x).feed(targets, y).fetch(dataLoss).fetch(penalty).run()) {
      return new LossSnapshot(
          ((TFloat32) result.get(0)).getFloat(), ((TFloat32) result.get(1)).getFloat());
    }
  }

  /** The current weights, widened to double. */
  double[] weights() {
    try (Result result = session.runner().fetch(weights).run()) {
      TFloat32 w = (TFloat32) result.get(0);
      double[] values = new double[(int) w.shape().get(0)];
      for (int i = 0; i < values.length; i++) {
        values[i] = w.getFloat(i, 0);
      }
      return values;
    }
  }

  /** The current bias, widened to double. */
  double bias() {
    try (Result result = session.runner().fetch(bias).run()) {
      return ((TFloat32) result.get(0)).getFloat();
    }
  }

  /** The model's predictions for {@code x}, through the serving output. */
  float[] predict(TFloat32 x) {
    try (Result result = session.runner().feed(features, x).fetch(prediction).run()) {
      return Tensors.toFloatArray((TFloat32) result.get(0));
    }
  }

  /**
   * Writes the trained graph and variables as a SavedModel with the {@code serving_default} and
   * {@value RegularizationSignature#KEY} signatures.
   */
  void export(Path directory) throws IOException {
    SavedModelBundle.exporter(directory.toString())
        .withSession(session)
        .withSignature(serving)
        .withSignature(regularization)
        .export();
  }

  @Override
  public void close() {
    try {
      session.close();
    } finally {
      graph.close();
    }
  }

  /**
   * One intra-op and one inter-op thread: the model is far too small to gain from threads, and a
   * single thread keeps every reduction in the same order from run to run.
   */
  private static ConfigProto singleThreaded() {
    return ConfigProto.newBuilder()
        .setIntraOpParallelismThreads(1)
        .setInterOpParallelismThreads(1)
        .build();
  }

  /** The data loss and the penalty at one moment of training. */
  record LossSnapshot(float dataLoss, float penalty) {
    /** The loss the optimizer minimizes. */
    float total() {
      return dataLoss + penalty;
    }
  }
}
