package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.types.TFloat32;

/**
 * {@link TrainableSavedModel} on TF1 SavedModels (no object graph): TF Serving's {@code
 * half_plus_two}, whose signature {@code serving_default} computes {@code y = a·x + b} over
 * reference variables, and graphs built here.
 */
class TrainableSavedModelTf1Test {
  private static final String MODEL = "tf1_half_plus_two";
  private static final float[] X = {-3f, -1f, 0f, 0.5f, 2f, 7f};

  @TempDir Path temp;

  /**
   * The variables of the trainable_variables collection that the output's node reaches through data
   * inputs, found by walking the GraphDef itself (not the loaded graph).
   */
  private static Set<String> readTrainables(Path dir, String outputTensor) throws IOException {
    MetaGraphDef meta =
        SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb"))).getMetaGraphs(0);
    Map<String, NodeDef> nodes = new HashMap<>();
    meta.getGraphDef().getNodeList().forEach(n -> nodes.put(n.getName(), n));
    Set<String> seen = new HashSet<>();
    Deque<String> pending = new ArrayDeque<>(List.of(outputTensor.split(":")[0]));
    Set<String> variables = new TreeSet<>();
    while (!pending.isEmpty()) {
      NodeDef node = nodes.get(pending.poll());
      if (node == null || !seen.add(node.getName())) {
        continue;
      }
      if (node.getOp().equals("VariableV2") || node.getOp().equals("VarHandleOp")) {
        variables.add(node.getName());
      }
      for (String input : node.getInputList()) {
        if (!input.startsWith("^")) {
          pending.add(input.split(":")[0]);
        }
      }
    }
    Set<String> collection = new HashSet<>();
    for (com.google.protobuf.ByteString bytes :
        meta.getCollectionDefOrThrow("trainable_variables").getBytesList().getValueList()) {
      collection.add(org.tensorflow.proto.VariableDef.parseFrom(bytes).getVariableName());
    }
    variables.removeIf(v -> !collection.contains(v + ":0"));
    return variables;
  }

  private static double value(Session session, String name) {
    return TestModels.values(session, name)[0];
  }

  private static double[] run(TrainableSavedModel model, float[] x) {
    try (TFloat32 input = TFloat32.vectorOf(x);
        Result result =
            model
                .session()
                .runner()
                .feed(model.input("x"), input)
                .fetch(model.output("y", TFloat32.class))
                .run()) {
      return TestModels.values(result.get(0));
    }
  }

  @Test
  void aTf1ModelOpensWithItsSignatureTensorsAsTheyAre() throws IOException {
    Path dir = TestModels.external(MODEL);
    String y;
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      y =
          bundle
              .metaGraphDef()
              .getSignatureDefOrThrow("serving_default")
              .getOutputsOrThrow("y")
              .getName();
    }
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      assertEquals(y, model.output("y", TFloat32.class).op().name() + ":0");
    }
  }

  @Test
  void theTrainableVariablesAreThoseOfTheCollectionThatTheSignatureReads() throws IOException {
    Path dir = TestModels.external(MODEL);
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      Set<String> names = new TreeSet<>();
      for (Operand<?> variable : model.trainableVariables()) {
        assertEquals("VariableV2", variable.op().type());
        names.add(variable.op().name());
      }
      String y = model.output("y", TFloat32.class).op().name();
      assertEquals(readTrainables(dir, y), names);
      assertEquals(Set.of("a", "b"), names);
    }
  }

  @Test
  void theOutputIsHalfPlusTwoOfTheVariablesValues() {
    try (TrainableSavedModel model = TrainableSavedModel.open(TestModels.external(MODEL))) {
      double a = value(model.session(), "a");
      double b = value(model.session(), "b");
      double[] y = run(model, X);
      for (int i = 0; i < X.length; i++) {
        assertEquals(a * X[i] + b, y[i], 1e-6, "y[" + i + "]");
      }
    }
  }

  @Test
  void aRegularizedGradientDescentStepMovesEachVariableByItsDoubleGradient() {
    float lr = 0.05f;
    float[] targets = {1f, -2f, 0.5f, 3f, -1f, 2f};
    try (TrainableSavedModel model = TrainableSavedModel.open(TestModels.external(MODEL))) {
      Ops tf = Ops.create(model.graph());
      Operand<TFloat32> y = model.output("y", TFloat32.class);
      Operand<TFloat32> target = tf.constant(targets);
      Operand<TFloat32> loss = tf.math.mean(tf.math.squaredDifference(y, target), tf.constant(0));
      L1L2 reg = L1L2.builder().l2(0.1).build();
      var step =
          reg.minimize(new GradientDescent(model.graph(), lr), loss, model.trainableVariables());
      double a = value(model.session(), "a");
      double b = value(model.session(), "b");
      // d/da mean((a x + b - t)²) = 2/n Σ (a x + b - t) x, plus 2·l2·a; likewise for b.
      double ga = 0;
      double gb = 0;
      for (int i = 0; i < X.length; i++) {
        double r = a * X[i] + b - targets[i];
        ga += 2 * r * X[i] / X.length;
        gb += 2 * r / X.length;
      }
      ga += 2 * 0.1 * a;
      gb += 2 * 0.1 * b;
      double lossBefore = loss(model, loss);
      try (TFloat32 x = TFloat32.vectorOf(X)) {
        model.session().runner().feed(model.input("x"), x).addTarget(step).run();
      }
      assertEquals(a - lr * ga, value(model.session(), "a"), 1e-5);
      assertEquals(b - lr * gb, value(model.session(), "b"), 1e-5);
      assertTrue(loss(model, loss) < lossBefore);
    }
  }

  private static double loss(TrainableSavedModel model, Operand<TFloat32> loss) {
    try (TFloat32 x = TFloat32.vectorOf(X);
        Result r = model.session().runner().feed(model.input("x"), x).fetch(loss).run()) {
      return TestModels.values(r.get(0))[0];
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void anExportedTf1ModelServesTheTrainedValuesAndKeepsEverySignatureAndAsset() throws IOException {
    Path dir = TestModels.external(MODEL);
    Path out = temp.resolve("tuned");
    double a;
    double b;
    try (TrainableSavedModel model = TrainableSavedModel.open(dir)) {
      Ops tf = Ops.create(model.graph());
      Operand<?> aVar = model.trainableVariables().get(0);
      model
          .session()
          .runner()
          .addTarget(
              tf.assign(
                  (Operand<TFloat32>) aVar.asOutput().expect(TFloat32.class), tf.constant(1.25f)))
          .run();
      a = value(model.session(), "a");
      b = value(model.session(), "b");
      PenaltyReport report = model.exportTo(out, L1L2.builder().l1(0.5).l2(0.25).build());
      double expected = 0.5 * (Math.abs(a) + Math.abs(b)) + 0.25 * (a * a + b * b);
      assertEquals(expected, report.penalty(), 1e-6);
    }
    assertEquals(1.25, a, 0);
    MetaGraphDef written =
        SavedModel.parseFrom(Files.readAllBytes(out.resolve("saved_model.pb"))).getMetaGraphs(0);
    MetaGraphDef original =
        SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb"))).getMetaGraphs(0);
    assertTrue(
        written.getSignatureDefMap().keySet().containsAll(original.getSignatureDefMap().keySet()));
    assertTrue(written.getSignatureDefMap().containsKey("regularization"));
    assertEquals(original.getCollectionDefMap().keySet(), written.getCollectionDefMap().keySet());
    assertTrue(Files.exists(out.resolve("assets")));
    try (SavedModelBundle reloaded = SavedModelBundle.load(out.toString(), "serve");
        TFloat32 x = TFloat32.vectorOf(X)) {
      double[] y;
      try (Result result = reloaded.function("serving_default").call(Map.of("x", x))) {
        y = TestModels.values(result.get("y").orElseThrow());
      }
      for (int i = 0; i < X.length; i++) {
        assertEquals(a * X[i] + b, y[i], 1e-6);
      }
      double expected = 0.5 * (Math.abs(a) + Math.abs(b)) + 0.25 * (a * a + b * b);
      try (Result penalty = reloaded.function("regularization").call(Map.of())) {
        assertEquals(expected, TestModels.values(penalty.get("penalty").orElseThrow())[0], 1e-6);
      }
    }
  }

  @Test
  void aV1CondOnTheGradientPathIsRefusedNamingTheMergeNode() throws IOException {
    Path dir = temp.resolve("tf1-cond");
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class);
      Variable<TFloat32> w =
          tf.withName("w").variable(tf.withInitScope().constant(new float[] {1f, 2f}));
      Operand<TFloat32> read = tf.identity(w);
      // A v1 Merge: TensorFlow's C++ registry has no gradient for it.
      var merge =
          graph
              .opBuilder("Merge", "pick", tf.scope())
              .addInputList(
                  new org.tensorflow.Output<?>[] {
                    tf.math.mul(read, x).asOutput(), tf.math.add(read, x).asOutput()
                  })
              .build();
      session.initialize();
      SavedModelBundle.exporter(dir.toString())
          .withSession(session)
          .withSignature(
              Signature.builder()
                  .key("serving_default")
                  .input("x", x)
                  .output("y", merge.output(0))
                  .build())
          .export();
    }
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> TrainableSavedModel.open(dir));
    assertTrue(e.getMessage().contains("node pick (Merge)"), e.getMessage());
  }

  @Test
  void aTfJavaExportWithReferenceVariablesOpensAsATf1Model() {
    try (TrainableSavedModel model = TrainableSavedModel.open(TestModels.EXAMPLE)) {
      assertTrue(!model.trainableVariables().isEmpty());
      for (Operand<?> variable : model.trainableVariables()) {
        assertEquals("VariableV2", variable.op().type());
      }
    }
  }
}
