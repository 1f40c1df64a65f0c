package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.RegularizationSignature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * The TensorFlow graph of one linear regression model {@code prediction = features · weights +
 * bias}, trained on the mean squared error plus an {@link L1L2} penalty on the weights, with its
 * session.
 *
 * <p>The penalty enters the loss through {@link L1L2#addTo}, before the framework's {@link
 * GradientDescent} takes gradients: the optimizer sees one scalar loss and knows nothing about
 * regularization. The bias is not penalized ({@code on("^weights$")}).
 *
 * <p>Learning-rate decay is a staircase: TF-Java's {@code GradientDescent} takes a fixed rate, so
 * the graph holds one {@code GradientDescent} and one training op per rate, all applying the
 * same gradients of the same loss.
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
  private final Operand<TFloat32> loss;
  private final List<Op> trainingSteps = new ArrayList<>();
  private final Signature serving;
  private final Signature regularization;

  /**
   * Builds the graph and opens its session.
   *
   * @param featureCount the number of input features
   * @param regularizer the penalty on the weights ({@code on} is replaced by the weights only)
   * @param learningRates one training op is built per rate, in this order
   */
  RegressionGraph(int featureCount, L1L2 regularizer, float[] learningRates) {
    this.regularizer = regularizer.toBuilder().on("^" + WEIGHTS + "$").build();
    this.graph = new Graph();
    boolean built = false;
    try {
      Ops tf = Ops.create(graph);
      features = tf.withName(FEATURES).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(Shape.UNKNOWN_SIZE, featureCount)));
      targets = tf.withName(TARGETS).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(Shape.UNKNOWN_SIZE)));
      // Zero start: training involves no randomness at all, so a seed fixes every number.
      Ops init = tf.withInitScope();
      weights = tf.withName(WEIGHTS).variable(
          init.zeros(init.constant(new long[] {featureCount, 1}), TFloat32.class));
      bias = tf.withName(BIAS).variable(init.constant(0.0f));
      prediction = tf.withName(PREDICTION).reshape(
          tf.math.add(tf.linalg.matMul(features, weights), bias),
          tf.constant(new long[] {-1}));
      dataLoss = tf.withName("mean_squared_error").math.mean(
          tf.math.square(tf.math.sub(prediction, targets)), tf.constant(0));
      Map<String, Operand<?>> parameters = new LinkedHashMap<>();
      parameters.put(WEIGHTS, weights);
      parameters.put(BIAS, bias);
      loss = this.regularizer.addTo(tf, dataLoss, parameters.values());
      // addTo returns Add(dataLoss, penalty): reporting its second input reports exactly the
      // penalty the optimizer differentiates, not a second copy of it.
      penalty = castToFloat(((GraphOperation) loss.op()).input(1));
      // What Optimizer.minimize does, with the gradients taken once and shared by all rates.
      List<Optimizer.GradAndVar<? extends TType>> gradients = null;
      for (int i = 0; i < learningRates.length; i++) {
        GradientDescent optimizer =
            new GradientDescent(graph, "gradient_descent_" + i, learningRates[i]);
        if (gradients == null) {
          gradients = gradientsOf(optimizer, loss);
        }
        trainingSteps.add(optimizer.applyGradients(gradients, "train_" + i));
      }
      serving = Signature.builder()
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

  /**
   * Runs {@code steps} gradient-descent steps with the {@code rateIndex}-th learning rate on the
   * given data.
   */
  void train(int rateIndex, int steps, TFloat32 x, TFloat32 y) {
    Op step = trainingSteps.get(rateIndex);
    for (int i = 0; i < steps; i++) {
      // Nothing fetched: the step only updates the variables.
      session.runner().feed(features, x).feed(targets, y).addTarget(step).run().close();
    }
  }

  /** Evaluates the data loss and the penalty on {@code (x, y)} as the training graph sees them. */
  LossSnapshot evaluate(TFloat32 x, TFloat32 y) {
    try (Result result = session.runner().feed(features, x).feed(targets, y)
        .fetch(dataLoss).fetch(penalty).run()) {
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

  /** The gradients of {@code loss} with respect to every variable of the graph. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static List<Optimizer.GradAndVar<? extends TType>> gradientsOf(
      Optimizer optimizer, Operand<TFloat32> loss) {
    // computeGradients returns List<GradAndVar<?>>, applyGradients takes the bounded wildcard:
    // the same thing, since GradAndVar's parameter is bounded by TType.
    return (List) optimizer.computeGradients(loss);
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> castToFloat(Operand<?> operand) {
    if (operand.type() != TFloat32.class) {
      throw new IllegalStateException("expected a float32 penalty, got " + operand.type());
    }
    return (Operand<TFloat32>) operand;
  }

  /** The data loss and the penalty at one moment of training. */
  record LossSnapshot(float dataLoss, float penalty) {
    /** The loss the optimizer minimizes. */
    float total() {
      return dataLoss + penalty;
    }
  }
}
