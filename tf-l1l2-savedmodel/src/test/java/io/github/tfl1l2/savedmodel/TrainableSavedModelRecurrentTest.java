package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.optimizers.ProximalGradientDescent;
import io.github.tfl1l2.testing.References;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * {@link TrainableSavedModel} on a Keras LSTM ({@code lstm_sentiment}): its loop is unrolled over
 * the 100 timesteps, and the results are checked against TensorFlow's own call of {@code
 * serving_default} in the same session, which runs Keras's {@code StatelessWhile}.
 */
class TrainableSavedModelRecurrentTest {
  private static final int BATCH = 32;

  @TempDir Path temp;

  /** The model opened, with a mean squared error to targets 1, 0, 1, 0, … on random ids. */
  private static final class Fixture implements AutoCloseable {
    final TrainableSavedModel model = TrainableSavedModel.open(LstmSentiment.directory());
    final Ops tf = Ops.create(model.graph());
    final float[] ids = LstmSentiment.ids(BATCH, LstmSentiment.TIMESTEPS, 3);
    final double[] targets = new double[BATCH];
    final Placeholder<TFloat32> target = tf.placeholder(TFloat32.class);
    final Operand<TFloat32> output = model.output(LstmSentiment.OUTPUT, TFloat32.class);
    final Operand<TFloat32> loss =
        tf.math.mean(tf.math.square(tf.math.sub(output, target)), tf.constant(new int[] {0, 1}));

    Fixture() {
      for (int i = 0; i < BATCH; i++) {
        targets[i] = i % 2 == 0 ? 1 : 0;
      }
    }

    Operand<?> handle(String name) {
      for (Operand<?> handle : model.trainableVariables()) {
        if (handle.op().name().equals(name)) {
          return handle;
        }
      }
      throw new AssertionError(name + " is not trainable");
    }

    List<Operand<?>> handles(List<String> names) {
      return names.stream().<Operand<?>>map(this::handle).toList();
    }

    /** Runs {@code fetches} (float32) and {@code targets}, feeding the ids and the targets. */
    List<double[]> run(List<? extends Operand<?>> fetches, Op... targetOps) {
      float[] t = new float[BATCH];
      for (int i = 0; i < BATCH; i++) {
        t[i] = (float) targets[i];
      }
      try (TFloat32 x = LstmSentiment.tensor(ids, LstmSentiment.TIMESTEPS);
          TFloat32 y =
              TFloat32.tensorOf(
                  org.tensorflow.ndarray.Shape.of(BATCH, 1), DataBuffers.of(t, true, false))) {
        Session.Runner runner =
            model.session().runner().feed(model.input(LstmSentiment.INPUT), x).feed(target, y);
        fetches.forEach(runner::fetch);
        for (Op op : targetOps) {
          runner.addTarget(op);
        }
        try (Result result = runner.run()) {
          List<double[]> values = new ArrayList<>();
          for (int i = 0; i < fetches.size(); i++) {
            values.add(TestModels.values(result.get(i)));
          }
          return values;
        }
      }
    }

    /** The loss of TensorFlow's own serving_default outputs, in double precision. */
    double servedLoss() {
      double[] served = LstmSentiment.serve(model.session(), ids);
      double sum = 0;
      for (int i = 0; i < BATCH; i++) {
        sum += (served[i] - targets[i]) * (served[i] - targets[i]);
      }
      return sum / BATCH;
    }

    double[] valueOf(String variable) {
      return TestModels.values(model.session(), variable + "/Read/ReadVariableOp");
    }

    @Override
    public void close() {
      model.close();
    }
  }

  @Test
  void theInlinedOutputEqualsServingDefault() {
    try (Fixture f = new Fixture()) {
      double[] inlined = f.run(List.of(f.output)).get(0);
      double[] served = LstmSentiment.serve(f.model.session(), f.ids);
      assertEquals(BATCH, inlined.length);
      for (int i = 0; i < BATCH; i++) {
        assertEquals(served[i], inlined[i], 1e-5, "output " + i);
      }
    }
  }

  @Test
  void theTrainingModeCallIsUnrolledTooAndWithoutDropoutEqualsServingDefault() {
    // The model has no Dropout (and the LSTM no recurrent dropout): training=True computes the
    // same.
    float[] ids = LstmSentiment.ids(BATCH, LstmSentiment.TIMESTEPS, 4);
    try (TrainableSavedModel model =
            TrainableSavedModel.open(
                LstmSentiment.directory(), "serving_default", TrainableSavedModel.Mode.TRAINING);
        TFloat32 x = LstmSentiment.tensor(ids, LstmSentiment.TIMESTEPS);
        Result result =
            model
                .session()
                .runner()
                .feed(model.input(LstmSentiment.INPUT), x)
                .fetch(model.output(LstmSentiment.OUTPUT, TFloat32.class))
                .run()) {
      double[] trained = TestModels.values(result.get(0));
      double[] served = LstmSentiment.serve(model.session(), ids);
      for (int i = 0; i < BATCH; i++) {
        assertEquals(served[i], trained[i], 1e-5, "output " + i);
      }
    }
  }

  @Test
  void theSixVariablesOfTheModelAreTrainable() {
    try (Fixture f = new Fixture()) {
      assertEquals(
          LstmSentiment.TRAINABLE,
          f.model.trainableVariables().stream().map(h -> h.op().name()).toList());
    }
  }

  @Test
  void theLoopIsUnrolledOverTheHundredTimesteps() {
    try (Fixture f = new Fixture()) {
      String loop =
          "trainable_serving_default/StatefulPartitionedCall/StatefulPartitionedCall/"
              + "sequential/lstm/PartitionedCall/while/iteration_";
      assertTrue(f.model.graph().operation(loop + "99/while/MatMul") != null, loop + "99");
      assertEquals(null, f.model.graph().operation(loop + "100/while/MatMul"));
    }
  }

  @Test
  void theGradientMatchesACentralFiniteDifferenceOfServingDefault() {
    try (Fixture f = new Fixture()) {
      Ops tf = f.tf;
      List<String> checked =
          List.of(
              "lstm/lstm_cell/kernel",
              "lstm/lstm_cell/recurrent_kernel",
              "lstm/lstm_cell/bias",
              "dense/kernel");
      List<Operand<?>> handles = f.handles(checked);
      Output<?>[] gradients =
          f.model
              .graph()
              .addGradients(
                  f.loss.asOutput(),
                  handles.stream().map(Operand::asOutput).toArray(Output<?>[]::new));
      List<double[]> g = f.run(List.of(gradients).stream().map(o -> (Operand<?>) o).toList());
      Placeholder<TFloat32> value = tf.placeholder(TFloat32.class);
      for (int v = 0; v < checked.size(); v++) {
        Op assign = tf.assignVariableOp(handles.get(v), value);
        double[] original = f.valueOf(checked.get(v));
        // The element with the largest gradient, and one fixed element.
        int largest = 0;
        for (int i = 0; i < g.get(v).length; i++) {
          if (Math.abs(g.get(v)[i]) > Math.abs(g.get(v)[largest])) {
            largest = i;
          }
        }
        for (int e : new int[] {largest, 7 % original.length}) {
          // The served outputs are float32: a loss rounded to ~1e-8 resolves slopes to ~1e-5 at
          // this step, and a larger step would add the curvature's error (3% on the bias at 1e-2).
          double h = 1e-3;
          float plus = (float) (original[e] + h);
          float minus = (float) (original[e] - h);
          double lossPlus = lossWith(f, assign, value, original, e, plus);
          double lossMinus = lossWith(f, assign, value, original, e, minus);
          set(f, assign, value, original);
          double slope = (lossPlus - lossMinus) / ((double) plus - (double) minus);
          assertEquals(
              slope, g.get(v)[e], 2e-2 * Math.abs(slope) + 1e-5, checked.get(v) + "[" + e + "]");
        }
      }
    }
  }

  private static double lossWith(
      Fixture f, Op assign, Placeholder<TFloat32> value, double[] original, int e, float w) {
    double[] moved = original.clone();
    moved[e] = w;
    set(f, assign, value, moved);
    return f.servedLoss();
  }

  private static void set(Fixture f, Op assign, Placeholder<TFloat32> value, double[] values) {
    float[] floats = new float[values.length];
    for (int i = 0; i < floats.length; i++) {
      floats[i] = (float) values[i];
    }
    // The handle is the assign's first input; its VarHandleOp carries the variable's shape.
    GraphOperation handle = (GraphOperation) ((GraphOperation) assign.op()).input(0).op();
    org.tensorflow.ndarray.Shape shape = handle.attributes().getAttrShape("shape");
    try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(floats, true, false))) {
      f.model.session().runner().feed(value, t).addTarget(assign).run();
    }
  }

  @Test
  void adamStepsWithThePenaltyLowerTheServedLoss() {
    try (Fixture f = new Fixture()) {
      double before = f.servedLoss();
      L1L2 reg = L1L2.builder().l2(1e-4).on("kernel").build();
      Op step =
          reg.minimize(new Adam(f.model.graph(), 1e-2f), f.loss, f.model.trainableVariables());
      f.model.session().initialize();
      for (int i = 0; i < 5; i++) {
        f.run(List.of(), step);
      }
      double after = f.servedLoss();
      assertTrue(after < 0.9 * before, "loss " + before + " -> " + after);
    }
  }

  @Test
  void aProximalStepLeavesExactZerosInTheRecurrentKernel() {
    float learningRate = 0.5f;
    double l1 = 0.01;
    try (Fixture f = new Fixture()) {
      Operand<?> recurrent = f.handle("lstm/lstm_cell/recurrent_kernel");
      Output<?> gradient =
          f.model.graph()
              .addGradients(f.loss.asOutput(), new Output<?>[] {recurrent.asOutput()})[0];
      double[] g = f.run(List.of((Operand<?>) gradient)).get(0);
      double[] before = f.valueOf("lstm/lstm_cell/recurrent_kernel");
      L1L2 reg = L1L2.builder().l1(l1).on("recurrent_kernel").build();
      Op step =
          new ProximalGradientDescent(f.model.graph(), learningRate, reg)
              .minimize(f.loss, f.model.trainableVariables());
      f.run(List.of(), step);
      double[] after = f.valueOf("lstm/lstm_cell/recurrent_kernel");
      double threshold = learningRate * l1;
      int zeros = 0;
      for (int i = 0; i < before.length; i++) {
        double moved = before[i] - learningRate * g[i];
        if (Math.abs(moved) < threshold * (1 - 1e-4)) {
          assertEquals(0.0, Math.abs(after[i]), 0.0, "recurrent_kernel[" + i + "] is exactly 0");
          zeros++;
        } else {
          double expected = Math.signum(moved) * (Math.abs(moved) - threshold);
          assertEquals(expected, after[i], 1e-6 * Math.abs(before[i]) + 1e-7, "[" + i + "]");
        }
      }
      assertTrue(zeros > 10, "the step zeroed " + zeros + " of " + before.length);
    }
  }

  @Test
  void theExportAfterTrainingServesTheTrainedOutputWithARegularizationSignature() {
    Path out = temp.resolve("trained");
    double l1 = 1e-4;
    double l2 = 1e-3;
    L1L2 reg = L1L2.builder().l1(l1).l2(l2).on("kernel").build();
    double[] trained;
    PenaltyReport report;
    try (Fixture f = new Fixture()) {
      Op step =
          reg.minimize(new Adam(f.model.graph(), 1e-2f), f.loss, f.model.trainableVariables());
      f.model.session().initialize();
      double[] before = f.run(List.of(f.output)).get(0);
      for (int i = 0; i < 3; i++) {
        f.run(List.of(), step);
      }
      trained = f.run(List.of(f.output)).get(0);
      assertFalse(java.util.Arrays.equals(before, trained), "the steps change the output");
      report = f.model.exportTo(out, reg);
    }
    float[] ids = LstmSentiment.ids(BATCH, LstmSentiment.TIMESTEPS, 3);
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve")) {
      double[] served = LstmSentiment.serve(reloaded, ids);
      for (int i = 0; i < BATCH; i++) {
        assertEquals(trained[i], served[i], 1e-6, "output " + i);
      }
      List<String> kernels =
          List.of("dense/kernel", "lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel");
      double l1Sum = 0;
      double l2Sum = 0;
      for (String kernel : kernels) {
        double[] w = TestModels.values(reloaded.session(), kernel + "/Read/ReadVariableOp");
        l1Sum += References.l1Sum(w);
        l2Sum += References.l2Sum(w);
      }
      Map<String, Object> outputs = TestModels.callRegularization(reloaded);
      assertEquals(kernels, outputs.get("variable_names"));
      assertClose(l1Sum, ((double[]) outputs.get("l1_sum"))[0], "l1_sum");
      assertClose(l2Sum, ((double[]) outputs.get("l2_sum"))[0], "l2_sum");
      double penalty = l1 * l1Sum + l2 * l2Sum;
      assertClose(penalty, ((double[]) outputs.get("penalty"))[0], "penalty");
      assertClose(penalty, report.penalty(), "reported penalty");
    }
  }

  @Test
  void aTimeAxisOfUnknownLengthIsRefusedAtOpenNamingTheLoop() {
    Path dir =
        LstmSentiment.editedCopy(
            temp.resolve("any-length"), m -> LstmSentiment.withTimesteps(m, -1));
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(dir));
    String message = e.getMessage();
    assertFalse(message.contains("\n"), message);
    for (String fragment :
        List.of(
            dir.toString(),
            "serving_default",
            "sequential/lstm/PartitionedCall/while (StatelessWhile)",
            "trip count is not known when the graph is built",
            "known only when the graph runs")) {
      assertTrue(message.contains(fragment), message + " should say " + fragment);
    }
  }
}
