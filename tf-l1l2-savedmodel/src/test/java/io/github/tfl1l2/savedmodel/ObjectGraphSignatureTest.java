package io.github.tfl1l2.savedmodel;

import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;

/**
 * The {@code regularization} signature of a TF2/Keras SavedModel, written into its object graph and
 * its {@code signature_def}, checked against the TF2 loader's rules ({@link Tf2LoaderRules}) and
 * run through TensorFlow-Java.
 */
class ObjectGraphSignatureTest {
  private static final Set<String> OUTPUTS = Tf2LoaderRules.REGULARIZATION_OUTPUTS;

  @TempDir Path temp;

  private static Path regularize(Path model, L1L2 config, boolean includeNonTrainable, Path out) {
    try (LoadedSavedModel loaded = LoadedSavedModel.open(model)) {
      loaded.exportRegularized(config, loaded.select(config, includeNonTrainable), out);
    }
    return out;
  }

  private static MetaGraphDef metaGraph(Path model) throws IOException {
    return SavedModel.parseFrom(Files.readAllBytes(model.resolve("saved_model.pb")))
        .getMetaGraphs(0);
  }

  private static void assertFollowsLoaderRules(Path model) throws IOException {
    List<String> violations =
        Tf2LoaderRules.violations(metaGraph(model), RegularizationSignature.KEY, OUTPUTS);
    assertEquals(List.of(), violations, model + " breaks TF2 loader rules");
  }

  private static int signatureNode(MetaGraphDef metaGraph, String key) {
    SavedObjectGraph graph = metaGraph.getObjectGraphDef();
    int map = Tf2LoaderRules.children(graph.getNodes(0), "signatures").get(0);
    return Tf2LoaderRules.children(graph.getNodes(map), key).get(0);
  }

  private static String functionOf(MetaGraphDef metaGraph, String key) {
    return metaGraph
        .getObjectGraphDef()
        .getNodes(signatureNode(metaGraph, key))
        .getBareConcreteFunction()
        .getConcreteFunctionName();
  }

  /** Everything that makes up signature {@code key}, serialized: must not change at all. */
  private static List<byte[]> signatureEntries(MetaGraphDef metaGraph, String key) {
    String function = functionOf(metaGraph, key);
    List<byte[]> entries = new ArrayList<>();
    entries.add(
        metaGraph.getObjectGraphDef().getNodes(signatureNode(metaGraph, key)).toByteArray());
    entries.add(metaGraph.getObjectGraphDef().getConcreteFunctionsOrThrow(function).toByteArray());
    entries.add(Tf2LoaderRules.library(metaGraph.getGraphDef()).get(function).toByteArray());
    entries.add(metaGraph.getSignatureDefOrThrow(key).toByteArray());
    return entries;
  }

  private static void assertSameEntries(List<byte[]> expected, List<byte[]> actual) {
    List<String> what =
        List.of("object-graph node", "concrete_functions entry", "FunctionDef", "signature_def");
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), actual.get(i), "serving_default " + what.get(i));
    }
  }

  /**
   * The original nodes keep their ids and content; the root and the signature map only gain
   * children.
   */
  private static void assertOnlyAppended(MetaGraphDef before, MetaGraphDef after) {
    assertOnlyAppended(before, after, -1);
  }

  /** As above, except node {@code replaced}: a previous regularization signature. */
  private static void assertOnlyAppended(MetaGraphDef before, MetaGraphDef after, int replaced) {
    SavedObjectGraph b = before.getObjectGraphDef();
    SavedObjectGraph a = after.getObjectGraphDef();
    assertTrue(a.getNodesCount() >= b.getNodesCount());
    for (int id = 0; id < b.getNodesCount(); id++) {
      if (id == replaced) {
        continue;
      }
      SavedObject original = b.getNodes(id);
      SavedObject written = a.getNodes(id);
      List<ObjectReference> kept =
          written.getChildrenList().subList(0, original.getChildrenCount());
      assertEquals(original.getChildrenList(), kept, "children of node " + id);
      assertEquals(
          original.toBuilder().clearChildren().build(),
          written.toBuilder().clearChildren().build(),
          "node " + id);
    }
  }

  /** The regularization outputs against the variables' values recomputed in double precision. */
  private static void assertValuesRecomputed(Path model, L1L2 config, List<String> variables) {
    try (SavedModelBundle bundle = SavedModelBundle.load(model.toString(), "serve")) {
      Map<String, Object> outputs = TestModels.callRegularization(bundle);
      assertEquals(variables, outputs.get(RegularizationSignature.VARIABLE_NAMES));
      double l1 = 0;
      double l2 = 0;
      double[] perVariable = (double[]) outputs.get(RegularizationSignature.PER_VARIABLE);
      assertEquals(variables.size(), perVariable.length);
      for (int i = 0; i < variables.size(); i++) {
        double[] w = TestModels.values(bundle.session(), variables.get(i));
        double l1w = References.l1Sum(w);
        double l2w = References.l2Sum(w);
        l1 += l1w;
        l2 += l2w;
        assertClose(
            config.weight() * (config.l1() * l1w + config.l2() * l2w),
            perVariable[i],
            "per_variable " + variables.get(i));
      }
      assertClose(l1, ((double[]) outputs.get(RegularizationSignature.L1_SUM))[0], "l1_sum");
      assertClose(l2, ((double[]) outputs.get(RegularizationSignature.L2_SUM))[0], "l2_sum");
      assertClose(
          config.weight() * (config.l1() * l1 + config.l2() * l2),
          ((double[]) outputs.get(RegularizationSignature.PENALTY))[0],
          "penalty");
      assertArrayEquals(
          new double[] {config.l1(), config.l2(), config.weight()},
          (double[]) outputs.get(RegularizationSignature.COEFFICIENTS),
          0.0);
    }
  }

  private static final List<String> KERAS_KERNELS =
      List.of(
          "conv2d/kernel", "conv2d_1/kernel", "conv2d_2/kernel", "dense/kernel", "dense_1/kernel");

  @Test
  void kerasCnnRegularizedFollowsTheTf2LoaderRules() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path out =
        regularize(
            keras, L1L2.builder().l2(0.01).on("kernel").build(), false, temp.resolve("once"));
    assertFollowsLoaderRules(out);
    MetaGraphDef before = metaGraph(keras);
    MetaGraphDef after = metaGraph(out);
    assertOnlyAppended(before, after);
    assertEquals(
        before.getObjectGraphDef().getNodesCount() + 1,
        after.getObjectGraphDef().getNodesCount(),
        "one node appended: the signature");
    assertEquals(
        before.getGraphDef().getLibrary().getFunctionCount() + 1,
        after.getGraphDef().getLibrary().getFunctionCount(),
        "one FunctionDef added");
    assertEquals(
        before.getGraphDef().getNodeCount() + 1,
        after.getGraphDef().getNodeCount(),
        "one graph node added: the call");
  }

  @Test
  void theFunctionReadsEachHandleArgumentWithReadVariableOp() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path out =
        regularize(
            keras, L1L2.builder().l2(0.01).on("kernel").build(), false, temp.resolve("once"));
    MetaGraphDef after = metaGraph(out);
    FunctionDef function =
        Tf2LoaderRules.library(after.getGraphDef())
            .get(functionOf(after, RegularizationSignature.KEY));
    assertEquals(KERAS_KERNELS.size(), function.getSignature().getInputArgCount());
    for (var arg : function.getSignature().getInputArgList()) {
      assertEquals(org.tensorflow.proto.DataType.DT_RESOURCE, arg.getType(), arg.getName());
      assertTrue(
          function.getNodeDefList().stream()
              .anyMatch(
                  n -> n.getOp().equals("ReadVariableOp") && n.getInput(0).equals(arg.getName())),
          arg.getName() + " is read by a ReadVariableOp");
    }
    assertTrue(
        function.getNodeDefList().stream()
            .noneMatch(n -> n.getOp().startsWith("Placeholder") || n.getOp().equals("VarHandleOp")),
        "no placeholder or variable inside the function");
  }

  @Test
  void kerasCnnSignatureBindsTheVariablesThatServingDefaultBindsToTheSameHandles()
      throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path out = regularize(keras, L1L2.builder().l2(0.01).build(), false, temp.resolve("all"));
    MetaGraphDef after = metaGraph(out);
    Map<String, Integer> serving = handleToNode(after, "serving_default");
    Map<String, Integer> regularization = handleToNode(after, RegularizationSignature.KEY);
    assertEquals(16, regularization.size(), "every trainable variable");
    for (Map.Entry<String, Integer> entry : regularization.entrySet()) {
      assertEquals(serving.get(entry.getKey()), entry.getValue(), entry.getKey());
    }
  }

  /** The call node of signature_def[key]: its handle inputs paired with the bound node ids. */
  private static Map<String, Integer> handleToNode(MetaGraphDef metaGraph, String key) {
    String function = functionOf(metaGraph, key);
    String callName =
        metaGraph
            .getSignatureDefOrThrow(key)
            .getOutputsMap()
            .values()
            .iterator()
            .next()
            .getName()
            .split(":")[0];
    NodeDef call =
        metaGraph.getGraphDef().getNodeList().stream()
            .filter(n -> n.getName().equals(callName))
            .findFirst()
            .orElseThrow();
    assertEquals(function, Tf2LoaderRules.callee(call));
    List<Integer> bound =
        metaGraph.getObjectGraphDef().getConcreteFunctionsOrThrow(function).getBoundInputsList();
    List<String> inputs = call.getInputList();
    Map<String, Integer> pairs = new java.util.TreeMap<>();
    for (int i = 0; i < bound.size(); i++) {
      pairs.put(inputs.get(inputs.size() - bound.size() + i), bound.get(i));
    }
    return pairs;
  }

  @Test
  void kerasCnnRegularizedTwiceReplacesTheSignatureAndAddsNoNode() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path once =
        regularize(
            keras, L1L2.builder().l2(0.01).on("kernel").build(), false, temp.resolve("once"));
    L1L2 second = L1L2.builder().l1(0.001).l2(0.5).weight(2.0).on("dense").build();
    Path twice = regularize(once, second, false, temp.resolve("twice"));
    assertFollowsLoaderRules(twice);
    MetaGraphDef first = metaGraph(once);
    MetaGraphDef result = metaGraph(twice);
    assertOnlyAppended(first, result, signatureNode(first, RegularizationSignature.KEY));
    assertEquals(
        first.getObjectGraphDef().getNodesCount(),
        result.getObjectGraphDef().getNodesCount(),
        "no second node");
    assertEquals(
        signatureNode(first, RegularizationSignature.KEY),
        signatureNode(result, RegularizationSignature.KEY),
        "the signature keeps its node id");
    String old = functionOf(first, RegularizationSignature.KEY);
    String replaced = functionOf(result, RegularizationSignature.KEY);
    assertNotEquals(old, replaced);
    assertFalse(
        Tf2LoaderRules.library(result.getGraphDef()).containsKey(old),
        "the previous FunctionDef is gone");
    assertFalse(result.getObjectGraphDef().containsConcreteFunctions(old));
    assertEquals(
        first.getGraphDef().getNodeCount(),
        result.getGraphDef().getNodeCount(),
        "the previous call is gone");
    assertEquals(
        first.getGraphDef().getLibrary().getFunctionCount(),
        result.getGraphDef().getLibrary().getFunctionCount());
    assertValuesRecomputed(
        twice,
        second,
        List.of("dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias").stream()
            .sorted()
            .toList());
  }

  @Test
  void regularizingTwiceWithTheSameConfigurationStillReplaces() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    L1L2 config = L1L2.of(0.5, 0.25);
    Path once = regularize(tf23, config, false, temp.resolve("once"));
    Path twice = regularize(once, config, false, temp.resolve("twice"));
    assertFollowsLoaderRules(twice);
    assertEquals(
        metaGraph(once).getObjectGraphDef().getNodesCount(),
        metaGraph(twice).getObjectGraphDef().getNodesCount());
    assertValuesRecomputed(twice, config, List.of("Variable"));
  }

  @Test
  void servingDefaultEntriesAreUnchangedByteForByte() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path once =
        regularize(
            keras, L1L2.builder().l2(0.01).on("kernel").build(), false, temp.resolve("once"));
    Path twice = regularize(once, L1L2.of(0.1, 0.2), false, temp.resolve("twice"));
    List<byte[]> original = signatureEntries(metaGraph(keras), "serving_default");
    assertSameEntries(original, signatureEntries(metaGraph(once), "serving_default"));
    assertSameEntries(original, signatureEntries(metaGraph(twice), "serving_default"));
  }

  @Test
  void theConfigurationReadsBackFromATf2Model() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    L1L2 config = L1L2.builder().l1(0.25).l2(0.5).weight(3.0).on("^dense").build();
    Path out = regularize(keras, config, false, temp.resolve("once"));
    try (SavedModelBundle bundle = SavedModelBundle.load(out.toString(), "serve")) {
      assertEquals(config, RegularizationSignature.readConfig(bundle));
    }
  }

  @Test
  void tf23ModelSignaturesAreUnchangedByteForByte() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    Path out = regularize(tf23, L1L2.of(0.5, 0.25), false, temp.resolve("once"));
    for (String key :
        List.of(
            "get_variable", "add", "get_const_scalar", "get_const_vector", "get_const_matrix")) {
      List<byte[]> before = signatureEntries(metaGraph(tf23), key);
      List<byte[]> after = signatureEntries(metaGraph(out), key);
      for (int i = 0; i < before.size(); i++) {
        assertArrayEquals(before.get(i), after.get(i), key + " entry " + i);
      }
    }
  }

  @Test
  void kerasCnnSignatureEqualsADoublePrecisionRecomputation() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    L1L2 config = L1L2.builder().l1(1e-4).l2(0.01).weight(0.5).on("kernel").build();
    Path once = regularize(keras, config, false, temp.resolve("once"));
    assertValuesRecomputed(once, config, KERAS_KERNELS.stream().sorted().toList());
  }

  @Test
  void tf23ModelRegularizedOnceAndTwiceFollowsTheRulesAndComputesItsVariable() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    L1L2 config = L1L2.of(0.5, 0.25);
    Path once = regularize(tf23, config, false, temp.resolve("once"));
    assertFollowsLoaderRules(once);
    assertOnlyAppended(metaGraph(tf23), metaGraph(once));
    assertEquals(
        metaGraph(tf23).getObjectGraphDef().getNodesCount() + 1,
        metaGraph(once).getObjectGraphDef().getNodesCount());
    assertValuesRecomputed(once, config, List.of("Variable"));
    L1L2 other = L1L2.of(1.0, 0.0);
    Path twice = regularize(once, other, false, temp.resolve("twice"));
    assertFollowsLoaderRules(twice);
    assertEquals(
        metaGraph(once).getObjectGraphDef().getNodesCount(),
        metaGraph(twice).getObjectGraphDef().getNodesCount());
    assertValuesRecomputed(twice, other, List.of("Variable"));
  }

  @Test
  void aModelWithoutASignatureMapGetsOne() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    Path copy = copy(tf23, temp.resolve("no-map"));
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(copy.resolve("saved_model.pb")));
    MetaGraphDef.Builder metaGraph = model.getMetaGraphs(0).toBuilder();
    SavedObject.Builder root = metaGraph.getObjectGraphDefBuilder().getNodesBuilder(0);
    List<ObjectReference> children = new ArrayList<>(root.getChildrenList());
    children.removeIf(c -> c.getLocalName().equals("signatures"));
    root.clearChildren().addAllChildren(children);
    Files.write(
        copy.resolve("saved_model.pb"),
        model.toBuilder().setMetaGraphs(0, metaGraph).build().toByteArray());

    L1L2 config = L1L2.of(0.5, 0.25);
    Path out = regularize(copy, config, false, temp.resolve("out"));
    assertFollowsLoaderRules(out);
    MetaGraphDef before = metaGraph(copy);
    MetaGraphDef after = metaGraph(out);
    assertOnlyAppended(before, after);
    int count = before.getObjectGraphDef().getNodesCount();
    assertEquals(
        count + 2, after.getObjectGraphDef().getNodesCount(), "a signature map and the signature");
    assertEquals(
        List.of(count),
        Tf2LoaderRules.children(after.getObjectGraphDef().getNodes(0), "signatures"));
    assertValuesRecomputed(out, config, List.of("Variable"));
  }

  @Test
  void metricVariablesThatShareANameAreRefusedWithTheReason() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    Path out = temp.resolve("out");
    L1L2 config = L1L2.builder().l2(1.0).on("^total").build();
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> regularize(keras, config, true, out));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertTrue(
        e.getMessage().contains("variable total cannot be matched to one object-graph " + "node")
            && e.getMessage().contains("2 SavedVariables are named \"total\""),
        e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void optimizerSlotsWithUniqueNamesAreMappedByName() throws IOException {
    Path keras = TestModels.external("keras-mnist-cnn");
    L1L2 config = L1L2.builder().l2(1.0).on("^Adam/dense_1/kernel/").build();
    Path out = regularize(keras, config, true, temp.resolve("slots"));
    assertFollowsLoaderRules(out);
    MetaGraphDef after = metaGraph(out);
    List<Integer> bound =
        after
            .getObjectGraphDef()
            .getConcreteFunctionsOrThrow(functionOf(after, RegularizationSignature.KEY))
            .getBoundInputsList();
    List<String> names = new ArrayList<>();
    bound.forEach(id -> names.add(after.getObjectGraphDef().getNodes(id).getVariable().getName()));
    assertEquals(List.of("Adam/dense_1/kernel/m", "Adam/dense_1/kernel/v"), names);
    assertValuesRecomputed(out, config, names);
  }

  @Test
  void aModelWithoutObjectGraphKeepsThePlainSignature() throws IOException {
    Path out = regularize(TestModels.EXAMPLE, L1L2.of(0.1, 0.2), false, temp.resolve("plain"));
    MetaGraphDef after = metaGraph(out);
    assertEquals(0, after.getObjectGraphDef().getNodesCount());
    assertTrue(
        after.getGraphDef().getLibrary().getFunctionList().stream()
            .map(f -> f.getSignature().getName())
            .noneMatch(n -> n.startsWith("tfl1l2_")));
    assertTrue(after.containsSignatureDef(RegularizationSignature.KEY));
  }

  @Test
  void theRulesRejectOutputsOutOfSortedOrder() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    MetaGraphDef good =
        metaGraph(regularize(tf23, L1L2.of(0.5, 0.25), false, temp.resolve("once")));
    String function = functionOf(good, RegularizationSignature.KEY);
    MetaGraphDef.Builder bad = good.toBuilder();
    var library = bad.getGraphDefBuilder().getLibraryBuilder();
    for (int i = 0; i < library.getFunctionCount(); i++) {
      if (library.getFunction(i).getSignature().getName().equals(function)) {
        FunctionDef.Builder f = library.getFunctionBuilder(i);
        var first = f.getSignature().getOutputArg(0);
        var last = f.getSignature().getOutputArg(f.getSignature().getOutputArgCount() - 1);
        f.getSignatureBuilder()
            .setOutputArg(0, last)
            .setOutputArg(f.getSignature().getOutputArgCount() - 1, first);
      }
    }
    assertFalse(
        Tf2LoaderRules.violations(bad.build(), RegularizationSignature.KEY, OUTPUTS).isEmpty());
  }

  @Test
  void theRulesRejectAnInputShapesListOfTheWrongLength() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    MetaGraphDef good =
        metaGraph(regularize(tf23, L1L2.of(0.5, 0.25), false, temp.resolve("once")));
    MetaGraphDef.Builder bad = good.toBuilder();
    var library = bad.getGraphDefBuilder().getLibraryBuilder();
    int index = 0;
    while (!library.getFunction(index).containsAttr("_input_shapes")) {
      index++;
    }
    FunctionDef.Builder f = library.getFunctionBuilder(index);
    var shapes = f.getAttrOrThrow("_input_shapes").toBuilder();
    shapes.getListBuilder().addShape(org.tensorflow.proto.TensorShapeProto.getDefaultInstance());
    f.putAttr("_input_shapes", shapes.build());
    List<String> violations =
        Tf2LoaderRules.violations(bad.build(), RegularizationSignature.KEY, OUTPUTS);
    assertEquals(1, violations.size(), violations.toString());
    assertTrue(violations.get(0).contains("_input_shapes"), violations.get(0));
  }

  @Test
  void theRulesRejectABoundInputThatIsNotAVariable() throws IOException {
    Path tf23 = TestModels.external("python-tf23-model");
    MetaGraphDef good =
        metaGraph(regularize(tf23, L1L2.of(0.5, 0.25), false, temp.resolve("once")));
    String function = functionOf(good, RegularizationSignature.KEY);
    MetaGraphDef.Builder bad = good.toBuilder();
    var entry =
        bad.getObjectGraphDef().getConcreteFunctionsOrThrow(function).toBuilder()
            .setBoundInputs(0, 0);
    bad.getObjectGraphDefBuilder().putConcreteFunctions(function, entry.build());
    assertFalse(
        Tf2LoaderRules.violations(bad.build(), RegularizationSignature.KEY, OUTPUTS).isEmpty());
  }

  private static Path copy(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path path : paths.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.write(target, Files.readAllBytes(path));
        }
      }
    }
    return to;
  }
}
