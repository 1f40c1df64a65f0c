package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** {@link TrainableSavedModel} on the Keras CNN: the inlined signature and its gradients. */
class TrainableSavedModelTest {

  @Test
  void theInlinedOutputEqualsTheModelsOwnServingDefault() {
    Path dir = KerasCnn.directory();
    float[] pixels = KerasCnn.images(16, 1);
    double[] expected;
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      expected = KerasCnn.serve(bundle, pixels);
    }
    try (TrainableSavedModel model = TrainableSavedModel.open(dir);
        TFloat32 x = KerasCnn.tensor(pixels);
        Result result =
            model
                .session()
                .runner()
                .feed(model.input(KerasCnn.INPUT), x)
                .fetch(model.output(KerasCnn.OUTPUT, TFloat32.class))
                .run()) {
      double[] actual = TestModels.values(result.get(0));
      assertEquals(expected.length, actual.length);
      assertEquals(16 * KerasCnn.CLASSES, actual.length);
      for (int i = 0; i < expected.length; i++) {
        assertEquals(expected[i], actual[i], 1e-5, "probability " + i);
      }
    }
  }

  @Test
  void theInlinedOutputIsComputedByOrdinaryOpsNotByAFunctionCall() {
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      Operand<TFloat32> output = model.output(KerasCnn.OUTPUT, TFloat32.class);
      Set<String> types = new HashSet<>();
      for (GraphOperation op : model.graph().subgraphTo(Set.of(output))) {
        types.add(op.type());
      }
      assertTrue(
          types.containsAll(
              Set.of("Conv2D", "FusedBatchNormV3", "MatMul", "Softmax", "ReadVariableOp")),
          types.toString());
      assertFalse(types.contains("StatefulPartitionedCall"), types.toString());
      assertFalse(types.contains("PartitionedCall"), types.toString());
    }
  }

  @Test
  void trainableVariablesAreTheKernelsBiasesGammasAndBetasByName() {
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      List<String> names = new ArrayList<>();
      for (Operand<?> handle : model.trainableVariables()) {
        assertEquals("VarHandleOp", handle.op().type(), handle.op().name());
        names.add(handle.op().name());
      }
      assertEquals(KerasCnn.TRAINABLE, names);
      for (String name : names) {
        assertFalse(
            name.contains("moving_")
                || name.startsWith("Adam/")
                || name.startsWith("total")
                || name.startsWith("count"),
            name);
      }
    }
  }

  @Test
  void trainableVariablesAreTheSameHandlesEachTimeAndImmutable() {
    try (TrainableSavedModel model = TrainableSavedModel.open(KerasCnn.directory())) {
      assertEquals(model.trainableVariables(), model.trainableVariables());
      assertThrows(UnsupportedOperationException.class, () -> model.trainableVariables().clear());
    }
  }

  @Test
  void theGradientOfTheLossAgreesWithACentralFiniteDifferenceOfTheServedLoss() {
    Path dir = KerasCnn.directory();
    int batch = 8;
    float[] pixels = KerasCnn.images(batch, 2);
    int[] labels = new int[batch];
    Random random = new Random(3);
    for (int i = 0; i < batch; i++) {
      labels[i] = random.nextInt(KerasCnn.CLASSES);
    }
    try (TrainableSavedModel model = TrainableSavedModel.open(dir);
        TFloat32 x = KerasCnn.tensor(pixels);
        TInt32 y = TInt32.vectorOf(labels)) {
      Graph graph = model.graph();
      Ops tf = Ops.create(graph);
      Placeholder<TInt32> label = tf.placeholder(TInt32.class);
      Operand<TFloat32> probabilities = model.output(KerasCnn.OUTPUT, TFloat32.class);
      // −mean(log p[label]): the served loss, which the reference recomputes in double.
      Operand<TFloat32> picked =
          tf.reduceSum(
              tf.math.mul(
                  probabilities,
                  tf.oneHot(
                      label, tf.constant(KerasCnn.CLASSES), tf.constant(1f), tf.constant(0f))),
              tf.constant(1));
      Operand<TFloat32> loss = tf.math.neg(tf.math.mean(tf.math.log(picked), tf.constant(0)));
      List<Operand<?>> handles = model.trainableVariables();
      Output<?>[] gradients =
          graph.addGradients(
              loss.asOutput(), handles.stream().map(Operand::asOutput).toArray(Output<?>[]::new));

      Session session = model.session();
      for (int v = 0; v < handles.size(); v++) {
        String name = handles.get(v).op().name();
        double[] gradient;
        try (Result r =
            session
                .runner()
                .feed(model.input(KerasCnn.INPUT), x)
                .feed(label, y)
                .fetch(gradients[v])
                .run()) {
          gradient = TestModels.values(r.get(0));
        }
        int largest = 0;
        for (int i = 1; i < gradient.length; i++) {
          if (Math.abs(gradient[i]) > Math.abs(gradient[largest])) {
            largest = i;
          }
        }
        FiniteDifference fd = new FiniteDifference(session, tf, dir, handles.get(v), largest);
        double coarse = fd.slope(1e-2, pixels, labels);
        double fine = fd.slope(5e-3, pixels, labels);
        // Two step sizes that agree show the difference is in its linear regime (no ReLU kink).
        assertEquals(fine, coarse, 1e-2 * Math.abs(fine) + 1e-4, name + ": step sizes disagree");
        assertEquals(
            fine, gradient[largest], 1e-2 * Math.abs(fine) + 1e-4, name + "[" + largest + "]");
      }
    }
  }
}
