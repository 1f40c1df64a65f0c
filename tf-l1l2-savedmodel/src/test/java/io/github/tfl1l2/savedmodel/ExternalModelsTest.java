package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * Every real SavedModel of {@code ../shared/savedmodels-external} (copied byte for byte from public
 * repositories), as a user brings it: it opens, its inlined output equals TensorFlow's own call,
 * its trainable variables are exactly those its output depends on, its gradient equals a central
 * finite difference, a step lowers a loss, and an export serves the trained values with a correct
 * {@code regularization} signature. Inputs are made here from the signature's own dtypes and
 * shapes.
 */
class ExternalModelsTest {
  /**
   * One model: its directory, signature, the output trained, fixed sizes of unknown dims, and the
   * standard deviation of its random float inputs (a model whose sigmoid saturates on unit inputs
   * would have no gradient to step on).
   */
  record Case(String name, String signature, String output, long[] unknownDims, double scale) {
    Case(String name, String signature, String output, long[] unknownDims) {
      this(name, signature, output, unknownDims, 1);
    }

    @Override
    public String toString() {
      return name + "/" + signature + "/" + output;
    }
  }

  static Stream<Case> models() {
    return Stream.of(
        new Case("keras-mnist-cnn", "serving_default", "dense_1", new long[] {3}),
        new Case("cnn_l2_murmur", "serving_default", "dense_1", new long[] {3}),
        new Case("mlp_bn_dropout", "serving_default", "dense_3", new long[] {4}, 0.05),
        new Case("normalization_dnn", "serving_default", "dense_7", new long[] {4, 8}),
        new Case("tfmodule_train_infer", "infer", "output", new long[] {3}),
        new Case("keras3_export_multihead_mlp", "serving_default", "output_0", new long[] {4}),
        new Case("keras3_export_multihead_mlp", "serving_default", "output_1", new long[] {4}),
        new Case("textvec_classifier", "serving_default", "activation", new long[] {4}),
        new Case("tf1_half_plus_two", "serving_default", "y", new long[] {5}));
  }

  @TempDir Path temp;

  /** The inputs of {@code signature}, made from their dtypes and shapes (seeded). */
  static Map<String, Tensor> feeds(SignatureDef signature, Case c, long seed) {
    long[] unknownDims = c.unknownDims();
    Random random = new Random(seed);
    Map<String, Tensor> feeds = new LinkedHashMap<>();
    for (String key : new TreeSet<>(signature.getInputsMap().keySet())) {
      TensorInfo info = signature.getInputsOrThrow(key);
      List<Long> dims = new ArrayList<>();
      int unknown = 0;
      for (var dim : info.getTensorShape().getDimList()) {
        dims.add(dim.getSize() >= 0 ? dim.getSize() : unknownDims[unknown++]);
      }
      Shape shape = Shape.of(dims.stream().mapToLong(Long::longValue).toArray());
      if (info.getDtype() == DataType.DT_STRING) {
        String[] words = {"good", "bad", "movie", "the", "great", "awful", "plot", "zzz"};
        var text = NdArrays.ofObjects(String.class, shape);
        text.scalars()
            .forEach(
                s ->
                    s.setObject(
                        words[random.nextInt(words.length)]
                            + " "
                            + words[random.nextInt(words.length)]));
        feeds.put(key, TString.tensorOf(text));
      } else if (info.getDtype() == DataType.DT_FLOAT) {
        float[] values = new float[(int) shape.size()];
        for (int i = 0; i < values.length; i++) {
          values[i] = (float) (c.scale() * random.nextGaussian());
        }
        feeds.put(key, TFloat32.tensorOf(shape, DataBuffers.of(values, true, false)));
      } else {
        throw new AssertionError(key + " has dtype " + info.getDtype() + ", not made here");
      }
    }
    return feeds;
  }

  private static void closeAll(Map<String, Tensor> feeds) {
    feeds.values().forEach(Tensor::close);
  }

  /** The model, its signature and its fixed inputs, closed together. */
  private static final class Opened implements AutoCloseable {
    final TrainableSavedModel model;
    final SignatureDef signature;
    final Map<String, Tensor> feeds;
    final Case c;

    Opened(Case c) {
      Path dir = TestModels.external(c.name());
      this.c = c;
      this.model = TrainableSavedModel.open(dir, c.signature());
      SignatureDef sig;
      try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
        sig = bundle.metaGraphDef().getSignatureDefOrThrow(c.signature());
      }
      this.signature = sig;
      this.feeds = feeds(sig, c, 42);
    }

    Session.Runner runner() {
      Session.Runner runner = model.session().runner();
      feeds.forEach((key, tensor) -> runner.feed(model.input(key), tensor));
      return runner;
    }

    /** TensorFlow's own call of every floating output, concatenated in key order. */
    double[] servedAll() {
      List<Double> all = new ArrayList<>();
      for (String key : new TreeSet<>(signature.getOutputsMap().keySet())) {
        TensorInfo info = signature.getOutputsOrThrow(key);
        if (info.getDtype() == DataType.DT_FLOAT) {
          for (double v : fetch(info.getName())) {
            all.add(v);
          }
        }
      }
      return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** TensorFlow's own call: the graph tensor the SignatureDef names. */
    String served() {
      return signature.getOutputsOrThrow(c.output()).getName();
    }

    Operand<TFloat32> inlined() {
      return model.output(c.output(), TFloat32.class);
    }

    double[] fetch(String tensor) {
      try (Result r = runner().fetch(tensor).run()) {
        return TestModels.values(r.get(0));
      }
    }

    double[] fetch(Operand<?> tensor) {
      try (Result r = runner().fetch(tensor).run()) {
        return TestModels.values(r.get(0));
      }
    }

    @Override
    public void close() {
      closeAll(feeds);
      model.close();
    }
  }

  private static double maxAbs(double[] values) {
    double max = 0;
    for (double v : values) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void theInlinedOutputEqualsTensorFlowsOwnCall(Case c) {
    try (Opened m = new Opened(c)) {
      double[] served = m.fetch(m.served());
      double[] inlined = m.fetch(m.inlined());
      assertEquals(served.length, inlined.length);
      double scale = Math.max(1, maxAbs(served));
      for (int i = 0; i < served.length; i++) {
        assertEquals(served[i], inlined[i], 1e-5 * scale, "element " + i);
      }
    }
  }

  /** Reads, assigns and restores one variable of the model's session, ref or resource. */
  private static final class VariableAccess {
    final Output<?> variable;
    final Operand<TFloat32> read;
    final Placeholder<TFloat32> value;
    final org.tensorflow.op.Op assign;

    @SuppressWarnings("unchecked")
    VariableAccess(Ops tf, Output<?> variable) {
      this.variable = variable;
      this.value = tf.placeholder(TFloat32.class);
      if (variable.op().type().equals("VarHandleOp")) {
        read = tf.readVariableOp(variable, TFloat32.class);
        assign = tf.assignVariableOp(variable, value);
      } else {
        read = tf.identity((Operand<TFloat32>) (Operand<?>) variable);
        assign = tf.assign((Operand<TFloat32>) (Operand<?>) variable, value);
      }
    }

    float[] values(Session session) {
      try (Result r = session.runner().fetch(read).run()) {
        TFloat32 t = (TFloat32) r.get(0);
        float[] values = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(values, false, false));
        return values;
      }
    }

    Shape shape(Session session) {
      try (Result r = session.runner().fetch(read).run()) {
        return r.get(0).shape();
      }
    }

    void set(Session session, Shape shape, float[] values) {
      try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(values, true, false))) {
        session.runner().feed(value, t).addTarget(assign).run();
      }
    }
  }

  private static boolean initialized(Ops tf, Session session, Output<?> variable) {
    if (!variable.op().type().equals("VarHandleOp")) {
      return true;
    }
    try (Result r = session.runner().fetch(tf.varIsInitializedOp(variable)).run()) {
      return ((org.tensorflow.types.TBool) r.get(0)).getBoolean();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void theTrainableVariablesAreExactlyTheTrainableOnesTheOutputDependsOn(Case c) {
    List<ModelVariable> flagged = new ArrayList<>();
    try (LoadedSavedModel loaded = LoadedSavedModel.open(TestModels.external(c.name()))) {
      for (ModelVariable v : loaded.variables()) {
        if (v.trainable() && v.dtype() == DataType.DT_FLOAT) {
          flagged.add(v);
        }
      }
    }
    try (Opened m = new Opened(c)) {
      TreeSet<String> listed = new TreeSet<>();
      m.model.trainableVariables().forEach(v -> listed.add(v.op().name()));
      Ops tf = Ops.create(m.model.graph());
      double[] before = m.servedAll();
      TreeSet<String> moving = new TreeSet<>();
      Session session = m.model.session();
      for (ModelVariable v : flagged) {
        Output<?> variable = m.model.graph().operationOrThrow(v.name()).output(0);
        if (!initialized(tf, session, variable)) {
          // A handle the model never restores (Keras 3 tracks some variables twice): no value to
          // move, and no call reads it.
          continue;
        }
        VariableAccess access = new VariableAccess(tf, variable);
        Shape shape = access.shape(session);
        float[] original = access.values(session);
        float[] moved = original.clone();
        for (int i = 0; i < moved.length; i++) {
          moved[i] = original[i] * 1.5f + 0.25f;
        }
        access.set(session, shape, moved);
        double[] after = m.servedAll();
        access.set(session, shape, original);
        for (int i = 0; i < after.length; i++) {
          if (Math.abs(after[i] - before[i]) > 1e-6 * Math.max(1, Math.abs(before[i]))) {
            moving.add(v.name());
            break;
          }
        }
      }
      assertEquals(moving, listed);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void theGradientEqualsACentralFiniteDifference(Case c) {
    try (Opened m = new Opened(c)) {
      Graph graph = m.model.graph();
      Ops tf = Ops.create(graph);
      double[] out = m.fetch(m.inlined());
      float[] weights = new float[out.length];
      Random random = new Random(7);
      for (int i = 0; i < weights.length; i++) {
        weights[i] = (float) (random.nextDouble() + 0.5);
      }
      Operand<TFloat32> flatWeights = tf.constant(weights);
      Operand<TFloat32> loss =
          tf.reduceSum(
              tf.math.mul(tf.reshape(m.inlined(), tf.constant(new int[] {-1})), flatWeights),
              tf.constant(0));
      List<Output<?>> variables = new ArrayList<>();
      m.model.trainableVariables().forEach(v -> variables.add(v.asOutput()));
      Map<Output<?>, Output<?>> gradients = DataGradients.reached(loss, variables);
      Session session = m.model.session();
      for (Output<?> variable : variables) {
        Output<?> gradient = gradients.get(variable);
        // A variable of another output of the signature: this output's loss does not reach it.
        double[] g = gradient == null ? null : m.fetch(gradient);
        VariableAccess access = new VariableAccess(tf, variable);
        Shape shape = access.shape(session);
        float[] original = access.values(session);
        int element = 0;
        for (int i = 1; g != null && i < g.length; i++) {
          if (Math.abs(g[i]) > Math.abs(g[element])) {
            element = i;
          }
        }
        double h = 1e-3 * Math.max(1, Math.abs(original[element]));
        float[] plus = original.clone();
        plus[element] = (float) (original[element] + h);
        float[] minus = original.clone();
        minus[element] = (float) (original[element] - h);
        access.set(session, shape, plus);
        double lossPlus = weightedSum(m.fetch(m.served()), weights);
        access.set(session, shape, minus);
        double lossMinus = weightedSum(m.fetch(m.served()), weights);
        access.set(session, shape, original);
        double slope = (lossPlus - lossMinus) / ((double) plus[element] - minus[element]);
        double symbolic = g == null ? 0 : g[element];
        // 3% for the curvature a step of h meets (ReLU kinks, max-pooling); the absolute term is
        // the
        // float32 rounding of the outputs, which grows with their size (ulp · |out| · n / h), so a
        // model whose outputs are in the millions gets a wider absolute band.
        assertEquals(
            slope,
            symbolic,
            3e-2 * Math.abs(slope) + 2e-3 * Math.max(1, maxAbs(out)),
            variable.op().name() + "[" + element + "]");
      }
    }
  }

  private static double weightedSum(double[] values, float[] weights) {
    double sum = 0;
    for (int i = 0; i < values.length; i++) {
      sum += values[i] * weights[i];
    }
    return sum;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void aRegularizedGradientDescentStepLowersTheLoss(Case c) {
    try (Opened m = new Opened(c)) {
      Ops tf = Ops.create(m.model.graph());
      Operand<TFloat32> out = m.inlined();
      Operand<TInt32> axes = tf.range(tf.constant(0), tf.rank(out), tf.constant(1));
      boolean probabilities = true;
      for (double v : m.fetch(out)) {
        probabilities &= v > 0 && v < 1;
      }
      // Probabilities (sigmoid, softmax) get a cross-entropy toward 1, whose gradient does not
      // vanish where a sigmoid saturates; other outputs a squared error.
      Operand<TFloat32> loss =
          probabilities
              ? tf.math.neg(tf.math.mean(tf.math.log(out), axes))
              : tf.math.mean(tf.math.square(tf.math.sub(out, tf.constant(0.3f))), axes);
      double before = m.fetch(loss)[0];
      // A step small against the loss's own scale: some models' outputs are in the millions.
      float rate = (float) (1e-3 / (1 + before));
      L1L2 reg = L1L2.builder().l2(1e-4).build();
      var step =
          reg.minimize(
              new GradientDescent(m.model.graph(), rate), loss, m.model.trainableVariables());
      for (int i = 0; i < 3; i++) {
        m.runner().addTarget(step).run();
      }
      double after = m.fetch(loss)[0];
      assertTrue(after < before, "loss " + before + " -> " + after);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void anExportServesTheTrainedValuesWithACorrectRegularizationSignature(Case c) {
    Path out = temp.resolve("tuned");
    L1L2 reg = L1L2.builder().l1(1e-3).l2(1e-2).build();
    double[] trained;
    double penalty = 0;
    try (Opened m = new Opened(c)) {
      Ops tf = Ops.create(m.model.graph());
      Session session = m.model.session();
      for (Operand<?> v : m.model.trainableVariables()) {
        VariableAccess access = new VariableAccess(tf, v.asOutput());
        Shape shape = access.shape(session);
        float[] values = access.values(session);
        for (int i = 0; i < values.length; i++) {
          values[i] = values[i] * 0.9f + 0.01f;
          penalty += 1e-3 * Math.abs(values[i]) + 1e-2 * (double) values[i] * values[i];
        }
        access.set(session, shape, values);
      }
      trained = m.fetch(m.inlined());
      PenaltyReport report = m.model.exportTo(out, reg);
      assertEquals(penalty, report.penalty(), 1e-5 * Math.max(1, penalty));
    }
    Map<String, Tensor> feeds;
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      SignatureDef signature = reloaded.metaGraphDef().getSignatureDefOrThrow(c.signature());
      feeds = feeds(signature, c, 42);
      Session.Runner runner = reloaded.session().runner();
      feeds.forEach((key, t) -> runner.feed(signature.getInputsOrThrow(key).getName(), t));
      try (Result r = runner.fetch(signature.getOutputsOrThrow(c.output()).getName()).run()) {
        double[] served = TestModels.values(r.get(0));
        for (int i = 0; i < served.length; i++) {
          assertEquals(trained[i], served[i], 1e-5 * Math.max(1, Math.abs(trained[i])));
        }
      } finally {
        closeAll(feeds);
      }
      try (Result r = reloaded.function("regularization").call(Map.of())) {
        double served = TestModels.values(r.get("penalty").orElseThrow())[0];
        assertEquals(penalty, served, 1e-5 * Math.max(1, penalty));
      }
    }
    assertFalse(trained.length == 0);
  }
}
