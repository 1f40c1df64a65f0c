package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

/**
 * {@link TrainableSavedModel} on the TF 2.3 {@code tf.Module} of {@code python-tf23-model}: five
 * signatures, one scalar variable (2.0) that only {@code get_variable} reads.
 */
class TrainableSavedModelTf23Test {
  private static final String NAME = "python-tf23-model";

  /** The scalar inputs fed to each signature. */
  private static final Map<String, Map<String, Float>> INPUTS =
      Map.of(
          "add", Map.of("a", 1.25f, "b", -3.5f),
          "get_const_matrix", Map.of("input", 0.5f),
          "get_const_scalar", Map.of("input", 0.5f),
          "get_const_vector", Map.of("input", 0.5f),
          "get_variable", Map.of("dummy", 7f));

  @Test
  void everySignatureOpensAndItsInlinedOutputEqualsTheModelsOwnCall() {
    Path dir = TestModels.external(NAME);
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
      for (Map.Entry<String, Map<String, Float>> signature : INPUTS.entrySet()) {
        String key = signature.getKey();
        Map<String, Tensor> feeds = new HashMap<>();
        signature.getValue().forEach((name, value) -> feeds.put(name, TFloat32.scalarOf(value)));
        double[] expected;
        try (Result result = bundle.function(key).call(feeds)) {
          expected = TestModels.values(result.get("output_0").orElseThrow());
        }
        try (TrainableSavedModel model = TrainableSavedModel.open(dir, key)) {
          Session.Runner runner = model.session().runner();
          feeds.forEach((name, tensor) -> runner.feed(model.input(name), tensor));
          try (Result result = runner.fetch(model.output("output_0", TFloat32.class)).run()) {
            assertArrayEquals(expected, TestModels.values(result.get(0)), 0.0, key);
          }
        } finally {
          feeds.values().forEach(Tensor::close);
        }
      }
    }
  }

  @Test
  void onlyGetVariableReadsTheTrainableVariable() {
    Path dir = TestModels.external(NAME);
    for (String key : INPUTS.keySet()) {
      try (TrainableSavedModel model = TrainableSavedModel.open(dir, key)) {
        List<String> names = model.trainableVariables().stream().map(h -> h.op().name()).toList();
        assertEquals(key.equals("get_variable") ? List.of("Variable") : List.of(), names, key);
      }
    }
  }

  @Test
  void theGradientOfGetVariableWithRespectToTheVariableIsOne() {
    try (TrainableSavedModel model =
            TrainableSavedModel.open(TestModels.external(NAME), "get_variable");
        TFloat32 dummy = TFloat32.scalarOf(7f)) {
      Operand<TFloat32> output = model.output("output_0", TFloat32.class);
      Output<?>[] gradient =
          model
              .graph()
              .addGradients(
                  output.asOutput(),
                  new Output<?>[] {model.trainableVariables().get(0).asOutput()});
      try (Result result =
          model
              .session()
              .runner()
              .feed(model.input("dummy"), dummy)
              .fetch(output)
              .fetch(gradient[0])
              .run()) {
        assertArrayEquals(new double[] {2.0}, TestModels.values(result.get(0)), 0.0);
        assertArrayEquals(new double[] {1.0}, TestModels.values(result.get(1)), 0.0);
      }
    }
  }

  @Test
  void itHasNoServingDefaultSoOpenWithoutAKeyListsTheSignatures() {
    Path dir = TestModels.external(NAME); // skips the test without ../shared
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TrainableSavedModel.open(dir));
    assertTrue(
        e.getMessage()
            .contains("[add, get_const_matrix, get_const_scalar, get_const_vector, get_variable]"),
        e.getMessage());
  }
}
