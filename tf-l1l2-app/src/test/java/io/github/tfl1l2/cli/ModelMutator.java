package io.github.tfl1l2.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.SplittableRandom;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.NodeDefOrBuilder;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Makes corrupt copies of a SavedModel, one per case number, reproducibly: the same number always
 * gives the same file, offsets and bits.
 *
 * <p>Most cases truncate a file at a random offset or flip one to three random bits in it ({@code
 * saved_model.pb}, {@code variables.index}, the data shard in turn). One case in five instead gives
 * a tensor or shape attribute of a random graph node a hostile dimension (negative, or so large
 * that the element count overflows): a file that parses but that TensorFlow's shape code may reject
 * with a failed CHECK, which aborts the process.
 */
final class ModelMutator {
  /** The files of a SavedModel with variables, relative to its directory. */
  static final List<String> FILES =
      List.of(
          "saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001");

  private static final long[] HOSTILE_DIMS = {-7, -1, 1L << 31, 1L << 40, 1L << 62, Long.MAX_VALUE};

  /** What was done to the copy, for the report. */
  record Mutation(String file, String kind, String detail) {}

  private ModelMutator() {}

  /** Copies {@code seed} to {@code copy} (which must not exist) and applies case {@code number}. */
  static Mutation mutate(Path seed, Path copy, int number) throws IOException {
    Files.createDirectories(copy.resolve("variables"));
    for (String file : FILES) {
      Files.copy(seed.resolve(file), copy.resolve(file));
    }
    SplittableRandom random = new SplittableRandom(0x5EED_F00DL * 31 + number);
    if (number % 5 == 4) {
      return hostileDimension(copy.resolve(FILES.get(0)), random);
    }
    String file = FILES.get(number % 3);
    Path path = copy.resolve(file);
    byte[] bytes = Files.readAllBytes(path);
    if (random.nextBoolean()) {
      int length = random.nextInt(bytes.length);
      Files.write(path, java.util.Arrays.copyOf(bytes, length));
      return new Mutation(file, "truncate", "to " + length + " of " + bytes.length + " bytes");
    }
    int flips = 1 + random.nextInt(3);
    StringBuilder bits = new StringBuilder();
    for (int i = 0; i < flips; i++) {
      int bit = random.nextInt(bytes.length * 8);
      bytes[bit / 8] ^= (byte) (1 << (bit % 8));
      bits.append(i == 0 ? "" : ",").append(bit);
    }
    Files.write(path, bytes);
    return new Mutation(file, "bit-flip", "bits " + bits);
  }

  /**
   * As {@link #mutate}, except that every fifth case from case 2 on corrupts a node of a function
   * in the graph's library instead (where the seed has one): the bodies that signatures call and
   * that inlining copies op by op, which TensorFlow's loader does not check. Even such cases give a
   * tensor or shape attribute a hostile dimension, odd ones point an input at an output index the
   * producing node does not have or at a node that does not exist.
   */
  static Mutation mutateFunctionBodies(Path seed, Path copy, int number) throws IOException {
    Mutation plain = mutate(seed, copy, number);
    if (number % 5 != 2) {
      return plain;
    }
    Path pb = copy.resolve(FILES.get(0));
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(seed.resolve(FILES.get(0))));
    MetaGraphDef.Builder meta = model.getMetaGraphs(0).toBuilder();
    FunctionDefLibrary.Builder library = meta.getGraphDefBuilder().getLibraryBuilder();
    SplittableRandom random = new SplittableRandom(0xF0_7C_B0_D1L * 31 + number);
    boolean shape = (number / 5) % 2 == 0;
    List<FunctionDef.Builder> functions =
        library.getFunctionBuilderList().stream()
            .filter(f -> f.getNodeDefList().stream().anyMatch(n -> fits(n, shape)))
            .toList();
    if (functions.isEmpty()) {
      return plain;
    }
    // The plain mutation is undone: this case corrupts one function node only.
    for (String file : FILES) {
      Files.copy(seed.resolve(file), copy.resolve(file), StandardCopyOption.REPLACE_EXISTING);
    }
    FunctionDef.Builder function = functions.get(random.nextInt(functions.size()));
    List<NodeDef.Builder> nodes =
        function.getNodeDefBuilderList().stream().filter(n -> fits(n, shape)).toList();
    NodeDef.Builder node = nodes.get(random.nextInt(nodes.size()));
    String where = function.getSignature().getName() + "/" + node.getName();
    Mutation mutation;
    if (shape) {
      Mutation m = hostileDimension(node, random, where);
      mutation = new Mutation(m.file(), "function-shape", m.detail());
    } else {
      int i = random.nextInt(node.getInputCount());
      String input = node.getInput(i);
      String hostile =
          random.nextBoolean() && input.contains(":")
              ? input.substring(0, input.lastIndexOf(':') + 1) + (7 + random.nextInt(1000))
              : "no_such_node:output:0";
      node.setInput(i, hostile);
      mutation =
          new Mutation(
              FILES.get(0), "function-input", where + " input " + input + " -> " + hostile);
    }
    Files.write(pb, model.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    return mutation;
  }

  private static boolean fits(NodeDefOrBuilder node, boolean shape) {
    return shape
        ? node.getAttrMap().values().stream().anyMatch(a -> a.hasTensor() || a.hasShape())
        : node.getInputCount() > 0 && !node.getInput(0).startsWith("^");
  }

  private static Mutation hostileDimension(Path pb, SplittableRandom random) throws IOException {
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef.Builder meta = model.getMetaGraphs(0).toBuilder();
    List<NodeDef.Builder> nodes =
        meta.getGraphDefBuilder().getNodeBuilderList().stream()
            .filter(
                n -> n.getAttrMap().values().stream().anyMatch(a -> a.hasTensor() || a.hasShape()))
            .toList();
    NodeDef.Builder node = nodes.get(random.nextInt(nodes.size()));
    Mutation mutation = hostileDimension(node, random, node.getName());
    Files.write(pb, model.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    return mutation;
  }

  /** Gives the first tensor or shape attribute of {@code node} a hostile shape. */
  private static Mutation hostileDimension(
      NodeDef.Builder node, SplittableRandom random, String where) {
    String attrName =
        node.getAttrMap().entrySet().stream()
            .filter(e -> e.getValue().hasTensor() || e.getValue().hasShape())
            .map(java.util.Map.Entry::getKey)
            .sorted()
            .findFirst()
            .orElseThrow();
    AttrValue attr = node.getAttrOrThrow(attrName);
    TensorShapeProto shape = attr.hasTensor() ? attr.getTensor().getTensorShape() : attr.getShape();
    int rank = 1 + random.nextInt(3);
    TensorShapeProto.Builder hostile = TensorShapeProto.newBuilder();
    for (int i = 0; i < rank; i++) {
      long dim =
          random.nextInt(3) == 0
              ? 1 + random.nextInt(8)
              : HOSTILE_DIMS[random.nextInt(HOSTILE_DIMS.length)];
      hostile.addDim(TensorShapeProto.Dim.newBuilder().setSize(dim));
    }
    node.putAttr(
        attrName,
        attr.hasTensor()
            ? attr.toBuilder()
                .setTensor(attr.getTensor().toBuilder().setTensorShape(hostile))
                .build()
            : attr.toBuilder().setShape(hostile).build());
    return new Mutation(
        FILES.get(0),
        "hostile-shape",
        where + "." + attrName + " " + dims(shape) + " -> " + dims(hostile.build()));
  }

  private static String dims(TensorShapeProto shape) {
    return shape.getDimList().stream().map(d -> Long.toString(d.getSize())).toList().toString();
  }
}
