package io.github.tfl1l2.savedmodel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;

/**
 * The Keras 2.15 sentiment model of {@code ../shared/savedmodels-external/lstm_sentiment}
 * (Embedding(10000, 32) → LSTM(32) → Dense(1, sigmoid)), as the recurrent tests use it: its
 * variables, random token ids, its output computed by TensorFlow's own call of {@code
 * serving_default} (the graph tensor its SignatureDef names, which runs Keras's loop as a {@code
 * StatelessWhile}), and edited copies.
 */
final class LstmSentiment {
  static final String NAME = "lstm_sentiment";
  static final String INPUT = "embedding_input";
  static final String OUTPUT = "dense";
  static final int TIMESTEPS = 100;

  /** The graph tensors that the SignatureDef names (TensorFlow's own call of the signature). */
  static final String SERVED_INPUT = "serving_default_embedding_input:0";

  static final String SERVED_OUTPUT = "StatefulPartitionedCall:0";

  /** The six trainable variables, sorted by name (from the model's Keras definition). */
  static final List<String> TRAINABLE =
      List.of(
          "dense/bias",
          "dense/kernel",
          "embedding/embeddings",
          "lstm/lstm_cell/bias",
          "lstm/lstm_cell/kernel",
          "lstm/lstm_cell/recurrent_kernel");

  private LstmSentiment() {}

  /** The model's directory; skips the test where {@code ../shared} is absent. */
  static Path directory() {
    return TestModels.external(NAME);
  }

  /** {@code n} rows of {@code timesteps} token ids in [1, 10000), as floats, from {@code seed}. */
  static float[] ids(int n, int timesteps, long seed) {
    Random random = new Random(seed);
    float[] ids = new float[n * timesteps];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 1 + random.nextInt(9999);
    }
    return ids;
  }

  static TFloat32 tensor(float[] ids, int timesteps) {
    return TFloat32.tensorOf(
        Shape.of(ids.length / timesteps, timesteps), DataBuffers.of(ids, true, false));
  }

  /** The outputs of TensorFlow's own {@code serving_default} call in {@code session}. */
  static double[] serve(Session session, float[] ids) {
    try (TFloat32 x = tensor(ids, TIMESTEPS);
        Result result = session.runner().feed(SERVED_INPUT, x).fetch(SERVED_OUTPUT).run()) {
      return TestModels.values(result.get(0));
    }
  }

  /** The outputs of a loaded model's {@code serving_default} signature function. */
  static double[] serve(org.tensorflow.SavedModelBundle bundle, float[] ids) {
    try (TFloat32 x = tensor(ids, TIMESTEPS);
        Result result = bundle.function("serving_default").call(Map.of(INPUT, x))) {
      return TestModels.values(result.get(OUTPUT).orElseThrow());
    }
  }

  /**
   * A copy of the model in {@code target} whose MetaGraphDef is {@code edit} of the original; the
   * variables are copied as they are.
   */
  static Path editedCopy(Path target, UnaryOperator<MetaGraphDef> edit) {
    Path source = directory();
    try (Stream<Path> paths = Files.walk(source)) {
      for (Path path : paths.toList()) {
        Path copy = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(copy);
        } else if (!path.getFileName().toString().equals("fingerprint.pb")) {
          Files.write(copy, Files.readAllBytes(path));
        }
      }
      SavedModel savedModel =
          SavedModel.parseFrom(Files.readAllBytes(target.resolve("saved_model.pb")));
      Files.write(
          target.resolve("saved_model.pb"),
          savedModel.toBuilder()
              .setMetaGraphs(0, edit.apply(savedModel.getMetaGraphs(0)))
              .build()
              .toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return target;
  }

  /**
   * {@code metaGraph} with the serving input's placeholder (and SignatureDef) of shape [-1, {@code
   * timesteps}]; -1 leaves the time axis unknown until run time.
   */
  static MetaGraphDef withTimesteps(MetaGraphDef metaGraph, long timesteps) {
    TensorShapeProto shape =
        TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dim.newBuilder().setSize(-1))
            .addDim(TensorShapeProto.Dim.newBuilder().setSize(timesteps))
            .build();
    GraphDef.Builder graph = metaGraph.getGraphDef().toBuilder();
    for (int i = 0; i < graph.getNodeCount(); i++) {
      NodeDef node = graph.getNode(i);
      if (node.getName().equals("serving_default_embedding_input")) {
        // The importer takes a placeholder's shape from _output_shapes too.
        graph.setNode(
            i,
            node.toBuilder()
                .putAttr("shape", AttrValue.newBuilder().setShape(shape).build())
                .putAttr(
                    "_output_shapes",
                    AttrValue.newBuilder()
                        .setList(AttrValue.ListValue.newBuilder().addShape(shape))
                        .build()));
      }
    }
    MetaGraphDef.Builder edited = metaGraph.toBuilder().setGraphDef(graph);
    var signature = edited.getSignatureDefOrThrow("serving_default").toBuilder();
    signature.putInputs(
        INPUT, signature.getInputsOrThrow(INPUT).toBuilder().setTensorShape(shape).build());
    edited.putSignatureDef("serving_default", signature.build());
    return edited.build();
  }
}
