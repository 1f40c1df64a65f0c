package io.github.tfl1l2.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
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

  private static Mutation hostileDimension(Path pb, SplittableRandom random) throws IOException {
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef.Builder meta = model.getMetaGraphs(0).toBuilder();
    List<NodeDef.Builder> nodes =
        meta.getGraphDefBuilder().getNodeBuilderList().stream()
            .filter(
                n -> n.getAttrMap().values().stream().anyMatch(a -> a.hasTensor() || a.hasShape()))
            .toList();
    NodeDef.Builder node = nodes.get(random.nextInt(nodes.size()));
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
    Files.write(pb, model.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    return new Mutation(
        FILES.get(0),
        "hostile-shape",
        node.getName() + "." + attrName + " " + dims(shape) + " -> " + dims(hostile.build()));
  }

  private static String dims(TensorShapeProto shape) {
    return shape.getDimList().stream().map(d -> Long.toString(d.getSize())).toList().toString();
  }
}
