"""examples/g2p/g2p.rnn's model as PyTorch writes it (letter embedding, LSTM encoder, a decoder of embedding, LSTM
and linear head started from the encoder's final states), and g2p-attention.rnn's (the decoder also attends to every
letter's encoding): shared by the scripts that compare rnnc with PyTorch (examples/g2p/torch_gap.py,
test/fixtures/parity/make_parity.py, src/bench/peers/torch_peer.py)."""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


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


class G2PAttention(torch.nn.Module):
    """g2p-attention.rnn: Bahdanau attention (v . tanh(W_k key_s + W_q h)) of the decoder's LSTM state over the
    encoder's outputs, padded letters masked out; tanh(W_mix [context, h] + b) then the head. The decoder's LSTM does not
    read the context, so PyTorch runs it over all steps at once and attends for all steps in one batch of products."""

    def __init__(self, L, P, E, H, A):
        super().__init__()
        self.letter = torch.nn.Embedding(L, E)
        self.encoder = torch.nn.LSTM(E, H, batch_first=True)
        self.dec_embed = torch.nn.Embedding(P, E)
        self.dec_rnn = torch.nn.LSTM(E, H, batch_first=True)
        self.W_k = torch.nn.Linear(H, A, bias=False)
        self.W_q = torch.nn.Linear(H, A, bias=False)
        self.v = torch.nn.Linear(A, 1, bias=False)
        self.mix = torch.nn.Linear(2 * H, H)
        self.head = torch.nn.Linear(H, P)

    def forward(self, letters, letter_lengths, prev):
        packed = pack_padded_sequence(self.letter(letters), letter_lengths, batch_first=True, enforce_sorted=False)
        enc, (h, c) = self.encoder(packed)
        keys, _ = pad_packed_sequence(enc, batch_first=True)  # [B, S, H], zero past each length
        out, _ = self.dec_rnn(self.dec_embed(prev), (h, c))  # [B, T, H]
        scores = self.v(torch.tanh(self.W_k(keys)[:, None, :, :] + self.W_q(out)[:, :, None, :])).squeeze(-1)  # [B, T, S]
        mask = torch.arange(keys.shape[1])[None, :] < letter_lengths[:, None]
        weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
        context = weights @ keys  # [B, T, H]
        return self.head(torch.tanh(self.mix(torch.cat([context, out], dim=-1))))

