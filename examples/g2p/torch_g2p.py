"""examples/g2p/g2p.rnn's model as PyTorch writes it (letter embedding, LSTM encoder, a decoder of embedding, LSTM
and linear head started from the encoder's final states): shared by the scripts that compare rnnc with PyTorch
(examples/g2p/torch_gap.py, test/fixtures/parity/make_parity.py, src/bench/peers/torch_peer.py)."""
import torch
from torch.nn.utils.rnn import pack_padded_sequence


class G2P(torch.nn.Module):
    def __init__(self, L, P, E, H):
        super().__init__()
        self.letter = torch.nn.Embedding(L, E)
        self.encoder = torch.nn.LSTM(E, H, batch_first=True)
        self.dec_embed = torch.nn.Embedding(P, E)
        self.dec_rnn = torch.nn.LSTM(E, H, batch_first=True)
        self.head = torch.nn.Linear(H, P)

    def forward(self, letters, letter_lengths, prev):
        packed = pack_padded_sequence(self.letter(letters), letter_lengths, batch_first=True, enforce_sorted=False)
        _, (h, c) = self.encoder(packed)  # each example's states at its own last letter
        out, _ = self.dec_rnn(self.dec_embed(prev), (h, c))
        return self.head(out)


# The import map onto g2p.rnn's layers (rnnc import --map).
RNNC_MAP = "letter=letter,encoder.l0=encoder,dec_embed=decoder.embed,dec_rnn.l0=decoder.rnn,head=decoder.head"
