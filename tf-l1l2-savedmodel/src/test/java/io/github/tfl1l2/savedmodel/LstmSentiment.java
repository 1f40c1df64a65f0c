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

  /**
   * {@code metaGraph} with a second LSTM before the model's own one, both over {@code timesteps}
   * steps: the first is a copy of the model's {@code standard_lstm} that keeps every step's output
   * ({@code return_sequences}: its output list has one slot per step, written at index {@code
   * time}), and feeds its sequence output to the second. Both read the same kernels (the
   * embedding's width equals the units, 32), so the variables and checkpoint stay those of the
   * model.
   */
  static MetaGraphDef stacked(MetaGraphDef metaGraph, long timesteps) {
    MetaGraphDef resized = withTimesteps(metaGraph, timesteps);
    GraphDef.Builder graph = resized.getGraphDef().toBuilder();
    var library = graph.getLibraryBuilder();
    Map<String, Integer> index = new java.util.HashMap<>();
    for (int i = 0; i < library.getFunctionCount(); i++) {
      index.put(library.getFunction(i).getSignature().getName(), i);
    }
    int wrappedIndex = -1;
    for (var entry : index.entrySet()) {
      if (entry.getKey().startsWith("__inference__wrapped_model_")) {
        wrappedIndex = entry.getValue();
      }
    }
    var wrapped = library.getFunction(wrappedIndex).toBuilder();
    int callIndex = -1;
    for (int i = 0; i < wrapped.getNodeDefCount(); i++) {
      if (wrapped.getNodeDef(i).getName().equals("sequential/lstm/PartitionedCall")) {
        callIndex = i;
      }
    }
    NodeDef call = wrapped.getNodeDef(callIndex);
    var lstm = library.getFunction(index.get(call.getAttrOrThrow("f").getFunc().getName()));
    NodeDef loop =
        lstm.getNodeDefList().stream()
            .filter(n -> n.getOp().equals("StatelessWhile"))
            .findFirst()
            .orElseThrow();
    var body = library.getFunction(index.get(loop.getAttrOrThrow("body").getFunc().getName()));

    String bodyName = body.getSignature().getName() + "_sequences";
    var sequenceBody = body.toBuilder();
    sequenceBody.getSignatureBuilder().setName(bodyName);
    String time = body.getSignature().getInputArg(2).getName();
    for (int i = 0; i < sequenceBody.getNodeDefCount(); i++) {
      NodeDef node = sequenceBody.getNodeDef(i);
      if (node.getOp().equals("TensorListSetItem")) {
        sequenceBody.setNodeDef(i, node.toBuilder().setInput(1, time));
      }
    }
    String lstmName = lstm.getSignature().getName() + "_sequences";
    var sequenceLstm = lstm.toBuilder().clearAttr();
    sequenceLstm.getSignatureBuilder().setName(lstmName);
    for (int i = 0; i < sequenceLstm.getNodeDefCount(); i++) {
      NodeDef node = sequenceLstm.getNodeDef(i);
      if (node.getOp().equals("TensorListReserve")) {
        sequenceLstm.setNodeDef(i, node.toBuilder().setInput(1, "strided_slice:output:0"));
      } else if (node.getOp().equals("TensorListStack")) {
        sequenceLstm.setNodeDef(
            i,
            node.toBuilder()
                .putAttr("num_elements", AttrValue.newBuilder().setI(timesteps).build()));
      } else if (node.getOp().equals("StatelessWhile")) {
        sequenceLstm.setNodeDef(
            i,
            node.toBuilder()
                .putAttr(
                    "body",
                    AttrValue.newBuilder()
                        .setFunc(org.tensorflow.proto.NameAttrList.newBuilder().setName(bodyName))
                        .build()));
      }
    }
    library.addFunction(sequenceBody).addFunction(sequenceLstm);
    String first = "sequential/lstm_0/PartitionedCall";
    wrapped.setNodeDef(callIndex, call.toBuilder().setInput(0, first + ":output:1"));
    wrapped.addNodeDef(
        call.toBuilder()
            .setName(first)
            .putAttr(
                "f",
                AttrValue.newBuilder()
                    .setFunc(org.tensorflow.proto.NameAttrList.newBuilder().setName(lstmName))
                    .build()));
    library.setFunction(wrappedIndex, wrapped);
    return resized.toBuilder().setGraphDef(graph).build();
  }
}
