package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.savedmodel.load.SavedModelProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;

/** Copies the files of a SavedModel directory that a re-export does not write anew. */
public final class ModelFiles {
  /**
   * Written anew by the export: the graph, the checkpoint, and the fingerprint, which hashes the
   * old files and would no longer match.
   */
  private static final Set<String> REWRITTEN =
      Set.of(
          SavedModelProto.SAVED_MODEL_PB, SavedModelProto.SAVED_MODEL_PBTXT,
          SavedModelProto.FINGERPRINT_PB, SavedModelProto.VARIABLES);

  private ModelFiles() {}

  /**
   * Copies every entry of {@code from} (e.g. {@code assets/}, {@code keras_metadata.pb}) into
   * {@code to}, except those the export writes.
   */
  static void copyOthers(Path from, Path to) throws IOException {
    try (Stream<Path> entries = Files.list(from)) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (!REWRITTEN.contains(name)) {
          copyRecursively(entry, to.resolve(name));
        }
      }
    }
  }

  private static void copyRecursively(Path source, Path target) throws IOException {
    // Links are followed (an asset may be one); ModelDirectory has refused loops already.
    try (Stream<Path> paths = Files.walk(source, FileVisitOption.FOLLOW_LINKS)) {
      for (Path path : paths.toList()) {
        Path destination = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(destination);
        } else {
          // From a stream, so the copy gets fresh permissions (inputs are often read-only).
          try (InputStream in = Files.newInputStream(path)) {
            Files.copy(in, destination);
          }
        }
      }
    }
  }
}
